import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import MediaDomain
import Persistence
import Storage
import Synchronization
import TestSupport
import Testing

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

/// tus on the in-memory store and storage: what the end-to-end test cannot easily make happen (a PATCH while
/// another holds the upload, a first PATCH too short to judge, creation-with-upload, idempotency).
@Suite("Resumable uploads (tus) in memory")
struct ResumableUploadTests {
    let tus: HTTPFields = [HTTPField.Name("Tus-Resumable")!: "1.0.0"]

    func creation(_ gateway: TestGateway, length: Int, name: String, extra: [(String, String)] = []) -> HTTPFields {
        var headers = gateway.auth()
        headers.append(contentsOf: tus)
        headers[HTTPField.Name("Upload-Length")!] = String(length)
        var metadata = ["filename \(Data(name.utf8).base64EncodedString())"]
        for (k, v) in extra { metadata.append("\(k) \(Data(v.utf8).base64EncodedString())") }
        headers[HTTPField.Name("Upload-Metadata")!] = metadata.joined(separator: ",")
        return headers
    }

    func patching(_ gateway: TestGateway, offset: Int) -> HTTPFields {
        var headers = gateway.auth()
        headers.append(contentsOf: tus)
        headers[HTTPField.Name("Upload-Offset")!] = String(offset)
        headers[.contentType] = "application/offset+octet-stream"
        return headers
    }

    func path(_ response: TestResponse) -> String {
        (response.headers[.location] ?? "").replacingOccurrences(of: "http://media.test", with: "")
    }

    @Test func creationWithUploadMakesTheMediaInOneRequest() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            var headers = creation(gateway, length: Samples.jpeg.count, name: "one-go.jpg", extra: [("is_public", "false")])
            headers[.contentType] = "application/offset+octet-stream"
            try await client.execute(uri: "/api/uploads/", method: .post, headers: headers, body: ByteBuffer(bytes: Samples.jpeg)) { response in
                #expect(response.status == .created)
                #expect(response.headers[HTTPField.Name("Upload-Offset")!] == String(Samples.jpeg.count))
                let id = try #require(response.headers[HTTPField.Name("Media-Id")!].flatMap { Int64($0) })
                let media = try #require(try await gateway.repository.find(id: id))
                #expect(media.format == .jpeg && !media.isPublic && media.originalFilename == "one-go.jpg")
                #expect(try await gateway.storage.get(key: media.storageKey) == Samples.jpeg)
            }
            #expect(!gateway.storage.keys.contains { $0.hasPrefix("uploads/") }, "\(gateway.storage.keys)")
        }
    }

    @Test func aPatchWhileAnotherHoldsTheUploadIsRefused() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let location = try await client.execute(
                uri: "/api/uploads/", method: .post, headers: creation(gateway, length: Samples.png.count, name: "busy.png")
            ) { path($0) }
            let id = try #require(location.split(separator: "/").last.flatMap { UUID(uuidString: String($0)) })
            let other = UUID()
            #expect(try await gateway.uploads.claimUpload(id: id, holder: other, lease: .seconds(60)) != nil)
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 0), body: ByteBuffer(bytes: Samples.png)) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("upload_busy"))
            }
            try await gateway.uploads.releaseClaim(id: id, holder: other)
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 0), body: ByteBuffer(bytes: Samples.png)) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[HTTPField.Name("Media-Id")!] != nil)
            }
        }
    }

    @Test func aFirstPatchTooShortToJudgeIsKeptAndJudgedWithTheNext() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let bytes = Samples.mp3
            let location = try await client.execute(
                uri: "/api/uploads/", method: .post, headers: creation(gateway, length: bytes.count, name: "voice.mp3")
            ) { path($0) }
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 0), body: ByteBuffer(bytes: bytes.prefix(10))) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[HTTPField.Name("Upload-Offset")!] == "10")
            }
            // Past Upload-Length: refused, nothing of it kept.
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 10), body: ByteBuffer(bytes: bytes + [1])) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(uri: location, method: .head, headers: patching(gateway, offset: 0)) { response in
                #expect(response.headers[HTTPField.Name("Upload-Offset")!] == "10")
            }
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 10), body: ByteBuffer(bytes: bytes.dropFirst(10))) { response in
                #expect(response.status == .noContent)
                let id = try #require(response.headers[HTTPField.Name("Media-Id")!].flatMap { Int64($0) })
                let media = try #require(try await gateway.repository.find(id: id))
                #expect(media.format == .mp3)
                #expect(try await gateway.storage.get(key: media.storageKey) == bytes)
            }
        }
    }

    @Test func aSegmentStoredButNeverCountedIsDroppedBeforeNewBytes() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let location = try await client.execute(
                uri: "/api/uploads/", method: .post, headers: creation(gateway, length: Samples.jpeg.count, name: "stray.jpg")
            ) { path($0) }
            try await client.execute(uri: location, method: .head, headers: patching(gateway, offset: 0)) { response in
                #expect(response.headers[HTTPField.Name("Upload-Metadata")!] == "filename \(Data("stray.jpg".utf8).base64EncodedString())")
            }
            // What a Gateway killed between storing a segment and counting it leaves behind.
            let id = try #require(location.split(separator: "/").last)
            let stray = "uploads/\(id)/000000000000000-deadbeef-1"
            try await gateway.storage.put(key: stray, bytes: [UInt8](repeating: 0x55, count: 40))
            try await client.execute(uri: location, method: .patch, headers: patching(gateway, offset: 0), body: ByteBuffer(bytes: Samples.jpeg)) { response in
                #expect(response.status == .noContent)
                let mediaId = try #require(response.headers[HTTPField.Name("Media-Id")!].flatMap { Int64($0) })
                let media = try #require(try await gateway.repository.find(id: mediaId))
                #expect(try await gateway.storage.get(key: media.storageKey) == Samples.jpeg, "the stray bytes are not in it")
            }
            #expect(!gateway.storage.keys.contains(stray))
        }
    }

    @Test func theSameIdempotencyKeyEndsInTheSameMedia() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            var ids: [String] = []
            for _ in 0..<2 {
                var headers = creation(gateway, length: Samples.jpeg.count, name: "again.jpg", extra: [("idempotency_key", "k-1")])
                headers[.contentType] = "application/offset+octet-stream"
                try await client.execute(uri: "/api/uploads/", method: .post, headers: headers, body: ByteBuffer(bytes: Samples.jpeg)) { response in
                    #expect(response.status == .created)
                    ids.append(response.headers[HTTPField.Name("Media-Id")!] ?? "")
                }
            }
            #expect(ids.count == 2 && ids[0] == ids[1] && !ids[0].isEmpty)
            #expect(gateway.storage.keys.filter { $0.hasPrefix("media/") }.count == 1, "one original stored")
            #expect(!gateway.storage.keys.contains { $0.hasPrefix("uploads/") }, "the retry stored nothing")
        }
    }

    @Test func metadataIsBase64PairsAndRefusesWhatIsNot() throws {
        let parsed = try ResumableUploadController.metadata("filename aGVsbG8uanBn, is_public ZmFsc2U=,empty")
        #expect(parsed == ["filename": "hello.jpg", "is_public": "false", "empty": ""])
        #expect(throws: APIError.self) { try ResumableUploadController.metadata("filename not*base64") }
    }
}

/// Storage whose reads of an upload's segments are slow (the segments of a big upload being copied into its original
/// on S3): long enough for a short lease to lapse several times over.
/// Storage whose reads of upload segments (the copy into the original, when an upload completes) wait until the test
/// opens the gate, so a test acts while a completion is known to be under way.
final class SlowSegmentStorage: BlobStorage {
    let base = MemoryStorage()
    /// `reading`: a segment read has begun; `open`: segment reads may go on.
    let gate = Mutex((reading: false, open: false))
    var segmentReadBegan: Bool { gate.withLock { $0.reading } }
    func openGate() { gate.withLock { $0.open = true } }
    func makeWriter(key: String) async throws -> any BlobWriter { try await base.makeWriter(key: key) }
    func info(key: String) async throws -> BlobInfo? { try await base.info(key: key) }
    func read(key: String, range: Range<Int64>?, chunkSize: Int, _ body: (ByteBuffer) async throws -> Void) async throws {
        if key.hasPrefix("uploads/") {
            gate.withLock { $0.reading = true }
            while !gate.withLock({ $0.open }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await base.read(key: key, range: range, chunkSize: chunkSize, body)
    }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws {
        try await base.listPages(prefix: prefix, pageSize: pageSize, body)
    }
    func presignedURL(key: String, expires: Int) -> String? { nil }
    func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int { 0 }
    func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T {
        try await base.withLocalFile(key: key, body)
    }
    func store(key: String, contentsOf path: String) async throws { try await base.store(key: key, contentsOf: path) }
}

/// Issue 27, defect 10: the claim holds while the last byte's upload becomes its media, however long that takes; a
/// final PATCH sent again meanwhile is told the upload is busy instead of taking it over and dropping the segment
/// being copied.
@Suite("Resumable uploads: completing under a held claim")
struct ResumableCompletionTests {
    @Test func aRetriedFinalPatchWhileTheUploadCompletesIsBusyAndTheMediaIsWhole() async throws {
        var configured = try TestGateway()
        configured.configuration.uploadLease = .milliseconds(300)
        let gateway = configured
        let storage = SlowSegmentStorage()
        var dependencies = GatewayDependencies(repository: gateway.repository, storage: storage, uploads: gateway.uploads)
        dependencies.events = gateway.events
        let router = buildRouter(configuration: gateway.configuration, dependencies: dependencies)
        let bytes = Samples.jpeg + (0..<5000).map { UInt8($0 % 251) }
        var creationHeaders = gateway.auth()
        creationHeaders[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
        creationHeaders[HTTPField.Name("Upload-Length")!] = String(bytes.count)
        creationHeaders[HTTPField.Name("Upload-Metadata")!] = "filename \(Data("slow.jpg".utf8).base64EncodedString())"
        var patchHeaders = gateway.auth()
        patchHeaders[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
        patchHeaders[HTTPField.Name("Upload-Offset")!] = "0"
        patchHeaders[.contentType] = "application/offset+octet-stream"
        let (creation, patch) = (creationHeaders, patchHeaders)
        try await Application(router: router).test(.router) { client in
            let location = try await client.execute(uri: "/api/uploads/", method: .post, headers: creation) { response in
                (response.headers[.location] ?? "").replacingOccurrences(of: "http://media.test", with: "")
            }
            async let first = client.execute(uri: location, method: .patch, headers: patch, body: ByteBuffer(bytes: bytes)) {
                ($0.status, $0.headers[HTTPField.Name("Media-Id")!])
            }
            // The first PATCH is completing (copying its segment); then two leases of 300 ms pass, which is what the
            // renewal must outlast.
            try #require(await eventually(timeout: .seconds(30), interval: .milliseconds(5)) { storage.segmentReadBegan })
            try await Task.sleep(for: .milliseconds(700))
            let retried = try await client.execute(uri: location, method: .patch, headers: patch, body: ByteBuffer(bytes: bytes)) {
                ($0.status, String(buffer: $0.body))
            }
            storage.openGate()
            #expect(retried.0 == .conflict && retried.1.contains("upload_busy"), "\(retried)")
            let (status, mediaId) = try await first
            #expect(status == .noContent, "the first PATCH completed")
            let id = try #require(mediaId.flatMap { Int64($0) })
            let media = try #require(try await gateway.repository.find(id: id))
            #expect(try await storage.base.get(key: media.storageKey) == bytes, "the original is whole")
        }
    }
}
