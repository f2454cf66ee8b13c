import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The little S3 returns as XML, read with Foundation's parser: records (`Contents`, `Upload`) with their fields, and
/// top-level fields (`UploadId`, `NextContinuationToken`, an error's `Code` and `Message`).
struct S3XML {
    var records: [[String: String]] = []
    var fields: [String: String] = [:]

    /// Parses `data`; elements named `record` become records of their child elements' text.
    init(_ data: Data, record: String? = nil) {
        let reader = Reader(record: record)
        let parser = XMLParser(data: data)
        parser.delegate = reader
        _ = parser.parse()
        records = reader.records
        fields = reader.fields
    }

    private final class Reader: NSObject, XMLParserDelegate {
        let record: String?
        var records: [[String: String]] = []
        var fields: [String: String] = [:]
        private var current: [String: String]?
        private var text = ""

        init(record: String?) { self.record = record }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == record { current = [:] }
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == record, let done = current {
                records.append(done)
                current = nil
            } else if current != nil {
                if current?[name] == nil { current?[name] = text }
            } else if fields[name] == nil {
                fields[name] = text
            }
            text = ""
        }
    }

    /// `<CompleteMultipartUpload>` with the parts in order.
    static func completeMultipartUpload(_ parts: [(number: Int, etag: String)]) -> Data {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            let etag = part.etag.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(etag)</ETag></Part>"
        }
        return Data((xml + "</CompleteMultipartUpload>").utf8)
    }
}
