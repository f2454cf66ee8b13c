/// Reads JSON text into a `JSONValue` in one pass (RFC 8259; nesting limited to 512 levels).
///
/// Why not `JSONDecoder`: `JSONValue`'s `Decodable` conformance has to guess each value's type by trying one
/// after the other, and every failed guess builds and throws a `DecodingError`. Reading a media row's metadata
/// that way cost more CPU than the rest of a detail request together (measured with `perf` under `wrk`).
/// Whole numbers that fit `Int64` become `.int`; every other number `.double`, as the `Decodable` path decides.
public enum JSONParser {
    public struct SyntaxError: Error, CustomStringConvertible, Equatable {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, SyntaxError> = text.withUTF8 { utf8 in
            do throws(SyntaxError) { return .success(try parse(UnsafeRawBufferPointer(utf8))) } catch { return .failure(error) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(SyntaxError) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.offset == bytes.count else { throw reader.error("unexpected text after the value") }
        return value
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        static let maxDepth = 512

        func error(_ reason: String) -> SyntaxError { SyntaxError(offset: offset, reason: reason) }

        var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

        mutating func skipWhitespace() {
            while let b = current, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { offset += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(SyntaxError) {
            guard current == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
            offset += 1
        }

        mutating func literal(_ text: String, _ value: JSONValue) throws(SyntaxError) -> JSONValue {
            for expected in text.utf8 {
                guard current == expected else { throw error("unknown literal") }
                offset += 1
            }
            return value
        }

        mutating func value(depth: Int) throws(SyntaxError) -> JSONValue {
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            guard let b = current else { throw error("unexpected end of input") }
            switch b {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character")
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> JSONValue {
            offset += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                offset += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try string()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                members[name] = try value(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    offset += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return .object(members)
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> JSONValue {
            offset += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                offset += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    offset += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return .array(items)
            }
        }

        mutating func number() throws(SyntaxError) -> JSONValue {
            let start = offset
            var isInteger = true
            if current == UInt8(ascii: "-") { offset += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw error("expected a digit")
            }
            if first == UInt8(ascii: "0") {
                offset += 1
            } else {
                skipDigits()
            }
            if current == UInt8(ascii: ".") {
                isInteger = false
                offset += 1
                guard skipDigitsRequired() else { throw error("expected a digit after '.'") }
            }
            if let e = current, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                isInteger = false
                offset += 1
                if let sign = current, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { offset += 1 }
                guard skipDigitsRequired() else { throw error("expected a digit in the exponent") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
            if isInteger, let int = Int64(text) { return .int(int) }
            guard let double = Double(text), double.isFinite else {
                throw SyntaxError(offset: start, reason: "number out of range")
            }
            // As the Decodable path: a whole number stays an integer however it is written (2.0, -2.25e3).
            if let int = Int64(exactly: double) { return .int(int) }
            return .double(double)
        }

        mutating func skipDigits() {
            while let b = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { offset += 1 }
        }

        mutating func skipDigitsRequired() -> Bool {
            let start = offset
            skipDigits()
            return offset > start
        }

        mutating func string() throws(SyntaxError) -> String {
            offset += 1
            let start = offset
            // Fast path: no escapes, the bytes between the quotes are the string.
            while let b = current, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\") {
                guard b >= 0x20 else { throw error("control character in a string") }
                offset += 1
            }
            guard let stop = current else { throw error("unterminated string") }
            if stop == UInt8(ascii: "\"") {
                offset += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset - 1]), as: UTF8.self)
            }
            var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
            while true {
                guard let b = current else { throw error("unterminated string") }
                offset += 1
                switch b {
                case UInt8(ascii: "\""):
                    return String(decoding: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    try escape(into: &utf8)
                case 0..<0x20:
                    offset -= 1
                    throw error("control character in a string")
                default:
                    utf8.append(b)
                }
            }
        }

        mutating func escape(into utf8: inout [UInt8]) throws(SyntaxError) {
            guard let e = current else { throw error("unterminated escape") }
            offset += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try hex4())
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one; together they are one scalar.
                    guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate") }
                    offset += 2
                    let low = UInt32(try hex4())
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                utf8.append(contentsOf: String(Character(unicode)).utf8)
            default:
                throw error("unknown escape")
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt16 {
            guard offset + 4 <= bytes.count else { throw error("short \\u escape") }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let b = bytes[offset]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw error("bad hex digit in \\u escape")
                }
                value = value << 4 | UInt16(digit)
                offset += 1
            }
            return value
        }
    }
}
