import Foundation
import Hummingbird
import NIOCore
import Testing

@testable import Gateway

@Suite("Streaming multipart parser")
struct MultipartReaderTests {
    /// Feeds `body` in chunks of `chunkSize` and returns (headers name, filename, content) per part.
    func parse(_ body: [UInt8], boundary: String, chunkSize: Int) async throws -> [(String?, String?, [UInt8])] {
        let chunks = stride(from: 0, to: body.count, by: chunkSize).map {
            ByteBuffer(bytes: body[$0..<min($0 + chunkSize, body.count)])
        }
        var reader = MultipartReader(body: AsyncStreamOfChunks(chunks: chunks), boundary: boundary)
        var parts: [(String?, String?, [UInt8])] = []
        while let event = try await reader.next() {
            switch event {
            case .partStart(let h): parts.append((h.name, h.filename, []))
            case .bodyChunk(let c): parts[parts.count - 1].2 += Array(c.readableBytesView)
            case .partEnd: break
            }
        }
        return parts
    }

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func partsSurviveAnyChunking(chunkSize: Int) async throws {
        // Content that contains near-misses of the delimiter.
        let payload: [UInt8] = Array("a\r\n--XYz-not\r\n--XY\r\nz\r\n-\r".utf8) + (0..<300).map { UInt8($0 % 256) }
        var body: [UInt8] = Array("preamble\r\n--XYZ\r\nContent-Disposition: form-data; name=\"is_public\"\r\n\r\nfalse\r\n".utf8)
        body += Array("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
        body += payload
        body += Array("\r\n--XYZ--\r\n".utf8)
        let parts = try await parse(body, boundary: "XYZ", chunkSize: chunkSize)
        #expect(parts.count == 2)
        #expect(parts[0].0 == "is_public" && parts[0].2 == Array("false".utf8))
        #expect(parts[1].0 == "file" && parts[1].1 == "a \"b\".jpg")
        #expect(parts[1].2 == payload)
    }

    @Test func truncatedBodyThrows() async throws {
        let body = Array("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nabc".utf8)
        await #expect(throws: MultipartError.self) { _ = try await parse(body, boundary: "XYZ", chunkSize: 5) }
    }

    @Test func boundaryFromContentType() {
        #expect(MultipartReader<AsyncStreamOfChunks>.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartReader<AsyncStreamOfChunks>.boundary(contentType: #"multipart/form-data; charset=utf-8; boundary="a b""#) == "a b")
        #expect(MultipartReader<AsyncStreamOfChunks>.boundary(contentType: "application/json") == nil)
    }
}

struct AsyncStreamOfChunks: AsyncSequence, Sendable {
    let chunks: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: [ByteBuffer]
        mutating func next() async throws -> ByteBuffer? { chunks.isEmpty ? nil : chunks.removeFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: chunks) }
}
