import Foundation
import Hummingbird
import NIOCore
import Testing
import TestSupport

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

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

    /// Issue 27's fuzzing of what reads untrusted bytes, for the one parser libFuzzer cannot reach without NIO
    /// (scripts/fuzz.sh covers the sniffer, the location scrubber, JSON and header grammars): 4,000 mutations of a
    /// valid body (bytes flipped, inserted, deleted, cut, parts duplicated), each fed in random chunks. Each either
    /// parses or throws MultipartError; none traps, loops or yields a body chunk outside a part. Seeded, so a failure
    /// names the iteration that reproduces it.
    @Test func mutatedBodiesParseOrFailCleanly() async throws {
        var generator = SplitMix64(seed: 0x6D75_6C74_6970_6172)
        let valid: [UInt8] = Array(("--XYZ\r\nContent-Disposition: form-data; name=\"is_public\"\r\n\r\ntrue\r\n"
            + "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").utf8)
            + (0..<200).map { UInt8($0) } + Array("\r\n--XYZ--\r\n".utf8)
        var parsed = 0, refused = 0
        for iteration in 0..<4_000 {
            var body = valid
            for _ in 0..<Int(generator.next() % 6 + 1) {
                let at = body.isEmpty ? 0 : Int(generator.next() % UInt64(body.count))
                switch generator.next() % 5 {
                case 0 where !body.isEmpty: body[at] = UInt8(truncatingIfNeeded: generator.next())
                case 1: body.insert(contentsOf: [0x0D, 0x0A, 0x2D, 0x2D][..<Int(generator.next() % 4 + 1)], at: at)
                case 2 where !body.isEmpty: body.remove(at: at)
                case 3: body = Array(body.prefix(at))
                default: body.insert(contentsOf: valid[..<min(valid.count, Int(generator.next() % 120))], at: at)
                }
            }
            let chunkSize = Int(generator.next() % 64 + 1)
            do {
                let parts = try await parse(body, boundary: "XYZ", chunkSize: chunkSize)
                #expect(parts.allSatisfy { $0.2.count <= body.count }, "iteration \(iteration)")
                parsed += 1
            } catch is MultipartError {
                refused += 1
            }
        }
        #expect(parsed > 100 && refused > 100, "both outcomes were reached: \(parsed) parsed, \(refused) refused")
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
