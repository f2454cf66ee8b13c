import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage
import Synchronization
import Testing

/// Issue 27, defect 10: every part (and every single PUT) carries its `Content-MD5`, so a store refuses a part whose
/// bytes changed on the way. The test S3 server (moto) does not check digests, so this runs against a minimal S3 of
/// its own that does, as S3 does (400 `BadDigest`), and that can corrupt a part in transit.
@Suite("S3 parts carry their Content-MD5")
struct S3PartChecksumTests {
    /// What the fake store saw.
    final class Seen: Sendable {
        let parts = Mutex<[(number: Int, md5Header: String?, md5OfBody: String)]>([])
        let completed = Mutex(0)
        let aborted = Mutex(0)
        let puts = Mutex<[(md5Header: String?, md5OfBody: String)]>([])
    }

    static func md5(_ buffer: ByteBuffer) -> String {
        buffer.withUnsafeReadableBytes { Data(Insecure.MD5.hash(data: $0)).base64EncodedString() }
    }

    /// A store that answers the multipart calls, checks each part's digest, and flips a byte of part `corrupt`.
    func withStore(corrupt: Int?, _ body: @Sendable (S3Storage, Seen) async throws -> Void) async throws {
        let seen = Seen()
        let router = Router()
        router.post("bucket/**") { request, _ -> Response in
            if request.uri.queryParameters["uploads"] != nil {
                return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string:
                    "<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>")))
            }
            seen.completed.withLock { $0 += 1 }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string:
                "<CompleteMultipartUploadResult><Location>x</Location><ETag>\"e\"</ETag></CompleteMultipartUploadResult>")))
        }
        router.put("bucket/**") { request, _ -> Response in
            var bytes = try await request.body.collect(upTo: 32 << 20)
            let header = request.headers[HTTPField.Name("Content-MD5")!]
            guard let number = request.uri.queryParameters["partNumber"].flatMap({ Int($0) }) else {
                seen.puts.withLock { $0.append((header, Self.md5(bytes))) }
                return Response(status: .ok, headers: [.eTag: "\"p\""])
            }
            if number == corrupt, let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) {
                bytes.setInteger(first ^ 0xFF, at: bytes.readerIndex)  // a bit flipped on the way
            }
            seen.parts.withLock { $0.append((number, header, Self.md5(bytes))) }
            guard header == Self.md5(bytes) else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string:
                    "<Error><Code>BadDigest</Code><Message>The Content-MD5 you specified did not match what we received.</Message></Error>")))
            }
            return Response(status: .ok, headers: [.eTag: "\"etag-\(number)\""])
        }
        router.delete("bucket/**") { _, _ -> HTTPResponse.Status in
            seen.aborted.withLock { $0 += 1 }
            return .noContent
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                bound = port.withLock { $0 }
                if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let boundPort = try #require(bound)
            let endpoint = try #require(URL(string: "http://127.0.0.1:\(boundPort)"))
            let storage = S3Storage(location: S3Location(
                bucket: "bucket", endpoint: endpoint, region: "us-east-1", pathStyle: true, accessKey: "a", secretKey: "s"))
            try await body(storage, seen)
            group.cancelAll()
        }
    }

    func write(_ storage: S3Storage, bytes count: Int) async throws {
        let writer = try await storage.makeWriter(key: "media/x/original.mp4")
        var left = count
        while left > 0 {
            let n = min(left, 1 << 20)
            try await writer.write(ByteBuffer(bytes: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ left) }))
            left -= n
        }
        try await writer.commit()
    }

    @Test func everyPartCarriesTheDigestOfItsBytes() async throws {
        try await withStore(corrupt: nil) { storage, seen in
            try await write(storage, bytes: S3Storage.partSize * 2 + 12_345)
            let parts = seen.parts.withLock { $0 }.sorted { $0.number < $1.number }
            #expect(parts.map(\.number) == [1, 2, 3])
            #expect(parts.allSatisfy { $0.md5Header == $0.md5OfBody }, "\(parts)")
            #expect(seen.completed.withLock { $0 } == 1)
            // An object under one part goes in one PUT, with its digest too.
            let small = try await storage.makeWriter(key: "media/x/small.jpg")
            try await small.write(ByteBuffer(bytes: [1, 2, 3]))
            try await small.commit()
            let puts = seen.puts.withLock { $0 }
            #expect(puts.count == 1 && puts[0].md5Header == puts[0].md5OfBody)
        }
    }

    @Test func aPartCorruptedOnTheWayIsRefusedAndTheUploadAborted() async throws {
        try await withStore(corrupt: 2) { storage, seen in
            await #expect(throws: StorageError.self) { try await write(storage, bytes: S3Storage.partSize * 2 + 12_345) }
            #expect(seen.completed.withLock { $0 } == 0, "never completed with a corrupt part")
            #expect(seen.aborted.withLock { $0 } >= 1, "the multipart upload was aborted")
        }
    }
}
