import Foundation
import MediaDomain
import Testing

/// JSONParser and JSONWriter replace JSONDecoder/JSONEncoder on the API's read path; they must agree with them.
@Suite("JSON parser and writer")
struct JSONReadWriteTests {
    static let documents = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #"42"#, #"-9223372036854775808"#,
        #"9223372036854775808"#, #"1.5"#, #"-2.25e3"#, #"1E-7"#, #"0.1"#, #""""#, #""a/b""#,
        #"{"processing_ms": 81, "exif": {"Make": "Canon", "GPS": null}, "tags": ["a", "b", 3, 4.5, false]}"#,
        #"{"error": {"code": "decode_failed", "message": "Line 1\nLine 2\t\"quoted\" back\\slash"}}"#,
        #"{"title": "caf\u00e9 \ud83d\ude00 \u0001 \/ done", "raw": "café 😀"}"#,
        " \n\t{ \"spaced\" :\r\n [ 1 , { } , [ ] ] } \n",
        #"{"waveform": [[-1, 1], [-0.5, 0.25]], "progress": 99.99}"#,
    ]

    @Test(arguments: documents)
    func parsesWhatJSONDecoderReads(_ text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(arguments: documents)
    func writesWhatReadsBackTheSame(_ text: String) throws {
        let value = try JSONParser.parse(text)
        var writer = JSONWriter()
        writer.value(value)
        let written = String(decoding: writer.bytes, as: UTF8.self)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(written.utf8)) == value, "\(written)")
        #expect(try JSONParser.parse(written) == value)
    }

    @Test func writesTheBytesJSONEncoderWrites() throws {
        let metadata: JSONValue = [
            "processing_ms": 81, "duration": 10.0, "ratio": 1.7777777777777777, "codec": "h264",
            "error": ["code": "decode_failed", "message": "bad \"header\"\n at 0x1f: \u{1}"],
            "tags": ["title": "Café/😀", "track": 3], "empty": [:], "list": [1, -2, 0.5, true, .null],
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var writer = JSONWriter()
        writer.value(metadata)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: try encoder.encode(metadata), as: UTF8.self))
    }

    @Test func objectsAndArraysPutCommasOnlyBetweenMembers() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("b"); w.beginArray(); w.int(1); w.beginObject(); w.endObject(); w.string(nil as String?); w.endArray()
        w.key("c"); w.beginObject(); w.key("d"); w.double(nil as Double?); w.endObject()
        w.key("e"); w.double(Double.nan)
        w.endObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"a":1,"b":[1,{},null],"c":{"d":null},"e":null}"#)
    }

    @Test(arguments: [
        "", "{", "[1,]", "[1 2]", #"{"a" 1}"#, #"{"a":1,}"#, #"{a:1}"#, "01", "1.", "-", "1e", ".5", "+1",
        "tru", "nul", "[1] x", "\"unterminated", "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud800""#,
        #""\udc00""#, #""\ud800\u0041""#, "1e400",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(text) }
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSONParser.parse(fine) != .null)
    }

    @Test func renditionInfoReadsItsStoredForm() throws {
        let info = RenditionInfo(key: "media/a/g1/small.jpg", mimeType: "image/jpeg", width: 320, height: 240, fileSize: 1234)
        let stored = try JSONParser.parse(String(decoding: try JSONEncoder().encode(info), as: UTF8.self))
        #expect(RenditionInfo(json: stored) == info)
        let noSize = RenditionInfo(key: "media/a/g1/w.json", mimeType: "application/json", width: nil, height: nil, fileSize: 9)
        #expect(RenditionInfo(json: try JSONParser.parse(String(decoding: try JSONEncoder().encode(noSize), as: UTF8.self))) == noSize)
        #expect(RenditionInfo(json: ["key": "k", "mime_type": "image/jpeg"]) == nil, "file_size is required")
    }
}
