import Foundation
import GatewayKit
import NIOCore

/// A streaming `multipart/form-data` parser: it pulls the request body chunk by chunk and yields part
/// headers and body slices as they arrive, holding at most one chunk plus a boundary's length in memory.
/// This is what lets a 100 MB upload pass through the Gateway with a flat memory profile.
package struct MultipartReader<Body: AsyncSequence & Sendable> where Body.Element == ByteBuffer {
    package enum Event: Equatable {
        case partStart(PartHeaders)
        case bodyChunk(ByteBuffer)
        case partEnd
    }

    package enum State { case preamble, afterDelimiter, headers, body, done }

    private var iterator: Body.AsyncIterator
    private var buffer: ByteBuffer
    private var state = State.preamble
    private var sourceFinished = false
    /// `\r\n--boundary`: every delimiter, including the first once a CRLF is put in front of the body.
    private let delimiter: [UInt8]
    private static var maxHeaderBytes: Int { 16 * 1024 }

    package init(body: Body, boundary: String) {
        iterator = body.makeAsyncIterator()
        delimiter = Array("\r\n--\(boundary)".utf8)
        buffer = ByteBuffer(bytes: [0x0D, 0x0A])
    }

    /// The `boundary` parameter of a `multipart/form-data` content type, or nil.
    package static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, first.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = kv[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            guard !value.isEmpty, value.utf8.count <= 200 else { return nil }
            return value
        }
        return nil
    }

    /// The next event, or nil after the closing delimiter.
    package mutating func next() async throws -> Event? {
        while true {
            switch state {
            case .done:
                return nil
            case .preamble:
                if let index = find(delimiter) {
                    buffer.moveReaderIndex(forwardBy: index + delimiter.count)
                    state = .afterDelimiter
                } else {
                    // Keep only what could still be the start of a delimiter.
                    let keep = min(buffer.readableBytes, delimiter.count - 1)
                    buffer.moveReaderIndex(forwardBy: buffer.readableBytes - keep)
                    try await fill()
                }
            case .afterDelimiter:
                guard buffer.readableBytes >= 2 else { try await fill(); continue }
                let view = buffer.readableBytesView
                let a = view[view.startIndex], b = view[view.startIndex + 1]
                if a == UInt8(ascii: "-"), b == UInt8(ascii: "-") {
                    state = .done
                    return nil
                }
                if a == 0x0D, b == 0x0A {
                    buffer.moveReaderIndex(forwardBy: 2)
                    state = .headers
                } else if a == UInt8(ascii: " ") || a == UInt8(ascii: "\t") {
                    buffer.moveReaderIndex(forwardBy: 1)  // transport padding
                } else {
                    throw MultipartError("malformed multipart body: bad delimiter line")
                }
            case .headers:
                if let end = find([0x0D, 0x0A, 0x0D, 0x0A]) {
                    let raw = buffer.readString(length: end) ?? ""
                    buffer.moveReaderIndex(forwardBy: 4)
                    state = .body
                    return .partStart(PartHeaders(raw: raw))
                }
                if buffer.readableBytes > Self.maxHeaderBytes { throw MultipartError("multipart part headers too large") }
                try await fill()
            case .body:
                if let index = find(delimiter) {
                    let chunk = index > 0 ? buffer.readSlice(length: index) : nil
                    if let chunk { return .bodyChunk(chunk) }
                    buffer.moveReaderIndex(forwardBy: delimiter.count)
                    state = .afterDelimiter
                    return .partEnd
                }
                let safe = buffer.readableBytes - (delimiter.count - 1)
                if safe > 0, let chunk = buffer.readSlice(length: safe) {
                    return .bodyChunk(chunk)
                }
                try await fill()
            }
        }
    }

    /// Appends the next chunk of the body; throws when it ended before the closing delimiter.
    private mutating func fill() async throws {
        guard !sourceFinished, var chunk = try await iterator.next() else {
            sourceFinished = true
            throw MultipartError("multipart body ended before its closing boundary")
        }
        if buffer.readableBytes == 0 {
            buffer = chunk
        } else {
            buffer.discardReadBytes()
            buffer.writeBuffer(&chunk)
        }
    }

    /// Offset of `needle` in the readable bytes, using memchr to jump between candidate first bytes.
    private func find(_ needle: [UInt8]) -> Int? {
        buffer.withUnsafeReadableBytes { haystack -> Int? in
            guard let base = haystack.baseAddress, haystack.count >= needle.count else { return nil }
            let first = Int32(needle[0])
            var offset = 0
            let last = haystack.count - needle.count
            while offset <= last {
                guard let hit = memchr(base + offset, first, last - offset + 1) else { return nil }
                let position = base.distance(to: UnsafeRawPointer(hit))
                let matches = needle.withUnsafeBytes { n in
                    n.baseAddress.map { memcmp(base + position, $0, needle.count) == 0 } ?? false
                }
                if matches { return position }
                offset = position + 1
            }
            return nil
        }
    }
}

/// The headers of one part, with its Content-Disposition parsed.
package struct PartHeaders: Equatable {
    package var name: String?
    package var filename: String?
    package var contentType: String?

    package init(raw: String) {
        for line in raw.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "content-disposition":
                for param in Self.parameters(value) {
                    switch param.key {
                    case "name": name = param.value
                    case "filename": filename = filename ?? param.value
                    case "filename*":
                        // RFC 5987: charset''percent-encoded; it wins over the plain form.
                        if let quote = param.value.range(of: "''") {
                            filename = String(param.value[quote.upperBound...]).removingPercentEncoding ?? filename
                        }
                    default: break
                    }
                }
            case "content-type":
                contentType = value
            default:
                break
            }
        }
    }

    /// `form-data; name="file"; filename="a b.jpg"` → [name: file, filename: a b.jpg].
    package static func parameters(_ value: String) -> [(key: String, value: String)] {
        var result: [(String, String)] = []
        var rest = Substring(value)
        // Skip the disposition type.
        if let semi = rest.firstIndex(of: ";") { rest = rest[rest.index(after: semi)...] } else { return [] }
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: eq)...]
            var v = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped { v.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { v.append(c) }
                }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                v = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            result.append((key, v))
        }
        return result
    }
}

package struct MultipartError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
