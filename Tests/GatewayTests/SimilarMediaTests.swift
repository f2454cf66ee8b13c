import Crypto
import Foundation
import GatewayAPI
import GatewayUploads
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import Testing

/// SPEC §13 at the Gateway: `sha256` of a plain upload as `sha256sum` gives it, and `/similar/` (near-duplicates by
/// `metadata.phash`): the caller's own media only, nearest first, within `max_distance`, paged, and a deleted or
/// reprocessed media seen by the very next request.
@Suite("Integrity at the Gateway: content hash and near-duplicates")
struct SimilarMediaTests {
    /// A ready media of `user` whose perceptual hash is `phash`.
    func ready(_ gateway: TestGateway, user: Int64 = 1, phash: String?) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: user, username: "user\(user)", format: .jpeg, fileSize: Int64(Samples.jpeg.count),
            originalFilename: "x.jpg", storageKey: key, isPublic: false))
        else { throw CancellationError() }
        let ready = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 4, height: 3, duration: nil,
                               bitrate: nil, metadata: phash.map { ["phash": .string($0)] } ?? [:], processingMs: 1)
        #expect(try await gateway.repository.apply(.ready(ready), consumer: "test") == .applied)
        return media
    }

    func ids(_ response: TestResponse) throws -> [Int64] {
        try decodeJSON(response.body)["results"]?.array?.compactMap { $0["id"]?.int } ?? []
    }

    @Test func similarListsTheCallersMediaNearestFirstWithinTheDistanceAndSeesChangesAtOnce() async throws {
        let gateway = try TestGateway()
        let origin = try await ready(gateway, phash: "ffff0000ffff0000")
        let one = try await ready(gateway, phash: "ffff0000ffff0001")      // 1 bit
        let five = try await ready(gateway, phash: "ffff0000ffff001f")     // 5 bits
        _ = try await ready(gateway, phash: "ffff0000ffff0fff")            // 12 bits
        let far = try await ready(gateway, phash: "0000ffff0000ffff")      // 64 bits
        _ = try await ready(gateway, user: 2, phash: "ffff0000ffff0000")   // another user's twin: never listed
        let audio = try await ready(gateway, phash: nil)
        _ = far
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(origin.id)/similar/", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .ok)
                let got = try ids(response)
                #expect(got == [one.id, five.id], "within 10 bits by default, nearest first")
                let count = try decodeJSON(response.body)["count"]?.int
                #expect(count == 2)
            }
            try await client.execute(uri: "/api/media/\(origin.id)/similar/?max_distance=12&page_size=2", method: .get,
                                     headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                let got = try ids(response)
                #expect(got == [one.id, five.id] && body["count"]?.int == 3)
                #expect(body["next"]?.string == "http://media.test/api/media/\(origin.id)/similar/?page=2&max_distance=12&page_size=2")
            }
            try await client.execute(uri: "/api/media/\(origin.id)/similar/?max_distance=0", method: .get, headers: gateway.auth()) { response in
                let got = try ids(response)
                #expect(got == [])
            }
            for bad in ["max_distance=33", "max_distance=-1", "max_distance=x", "page=0"] {
                try await client.execute(uri: "/api/media/\(origin.id)/similar/?\(bad)", method: .get, headers: gateway.auth()) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    let code = try decodeJSON(response.body)["code"]
                    #expect(code == "invalid_parameter", "\(bad)")
                }
            }
            try await client.execute(uri: "/api/media/\(audio.id)/similar/", method: .get, headers: gateway.auth()) { response in
                let got = try ids(response)
                #expect(response.status == .ok && got == [], "no hash, no near-duplicates")
            }
            try await client.execute(uri: "/api/media/\(origin.id)/similar/", method: .get, headers: gateway.auth(2)) { response in
                #expect(response.status == .notFound, "another user's private media is not there")
            }
            // Deleted, and a new near copy: the next request knows both.
            _ = try await gateway.repository.delete(id: one.id, userId: 1)
            let three = try await ready(gateway, phash: "ffff0000ffff0007")
            try await client.execute(uri: "/api/media/\(origin.id)/similar/", method: .get, headers: gateway.auth()) { response in
                let got = try ids(response)
                #expect(got == [three.id, five.id])
                let count = try decodeJSON(response.body)["count"]?.int
                #expect(count == 2)
            }
            try await client.execute(uri: "/api/media/\(origin.id)/similar/", method: .post, headers: gateway.auth()) { response in
                #expect(response.status == .methodNotAllowed)
            }
        }
    }

    /// Over 100 matches the existence check is by id and only the page is fetched: the count still leaves out a
    /// deleted match, and the pages hold every other one once.
    @Test func manyMatchesAreCountedExactlyAndPagedWhole() async throws {
        let gateway = try TestGateway()
        let origin = try await ready(gateway, phash: "00000000000000ff")
        var made: [Int64] = []
        for _ in 0..<120 { made.append(try await ready(gateway, phash: "00000000000000fe").id) }
        let twins = made
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(origin.id)/similar/", method: .get, headers: gateway.auth()) { response in
                let count = try decodeJSON(response.body)["count"]?.int
                #expect(count == 120)
            }
            _ = try await gateway.repository.delete(id: twins[7], userId: 1)
            var seen: [Int64] = []
            for page in 1...2 {
                seen += try await client.execute(uri: "/api/media/\(origin.id)/similar/?page=\(page)&page_size=100",
                                                 method: .get, headers: gateway.auth()) { response in
                    let body = try decodeJSON(response.body)
                    #expect(body["count"]?.int == 119, "the deleted one is not counted")
                    return try ids(response)
                }
            }
            #expect(seen == twins.filter { $0 != twins[7] }, "oldest first at equal distance, each once")
        }
    }

    @Test func aPlainUploadCarriesTheSHA256OfItsBytes() async throws {
        let gateway = try TestGateway()
        // Large enough to arrive in many chunks.
        let bytes = Samples.jpeg + (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let expected = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: gateway.auth().merging(MultipartBody.headers),
                                     body: MultipartBody.file(filename: "big.jpg", bytes: bytes)) { response in
                #expect(response.status == .created)
                let body = try decodeJSON(response.body)
                #expect(body["sha256"]?.string == expected)
                let id = try #require(body["id"]?.int)
                let stored = try await gateway.repository.find(id: id)?.sha256
                #expect(stored == expected)
            }
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        merged.append(contentsOf: other)
        return merged
    }
}

/// The in-memory index itself: it reads only what changed, catches up in batches, and holds at most its capacity,
/// dropping the user asked about longest ago (who is read again when next asked about).
@Suite("Near-duplicates: the Gateway's hash index")
struct SimilarMediaIndexTests {
    /// A store that counts the changes it hands out.
    final class CountingStore: PerceptualHashStore, @unchecked Sendable {
        let base = MemoryMediaRepository()
        let lock = NSLock()
        var handedOut = 0
        var calls = 0

        func perceptualHashChanges(userId: Int64, after sequence: Int64, limit: Int) async throws -> [PerceptualHashChange] {
            let changes = try await base.perceptualHashChanges(userId: userId, after: sequence, limit: limit)
            lock.withLock { handedOut += changes.count; calls += 1 }
            return changes
        }
        func media(ids: [Int64], userId: Int64) async throws -> [Media] { try await base.media(ids: ids, userId: userId) }
        func existingIds(_ ids: [Int64], userId: Int64) async throws -> Set<Int64> { try await base.existingIds(ids, userId: userId) }
    }

    func add(_ store: CountingStore, user: Int64, phash: UInt64) async throws -> Int64 {
        guard case .created(let media) = try await store.base.create(NewMedia(
            userId: user, username: "u", format: .jpeg, fileSize: 1, originalFilename: "a.jpg",
            storageKey: "media/\(UUID().uuidString.lowercased())/original.jpg", isPublic: false))
        else { throw CancellationError() }
        let hex = String(phash, radix: 16)
        let ready = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil, bitrate: nil,
                               metadata: ["phash": .string(String(repeating: "0", count: 16 - hex.count) + hex)], processingMs: 1)
        _ = try await store.base.apply(.ready(ready), consumer: "test")
        return media.id
    }

    @Test func readsOnlyChangesAndHoldsAtMostItsCapacity() async throws {
        let store = CountingStore()
        var ids: [Int64] = []
        for i in 0..<10 { ids.append(try await add(store, user: 1, phash: UInt64(i))) }
        for i in 0..<6 { _ = try await add(store, user: 2, phash: UInt64(i) << 32) }
        let index = SimilarMediaIndex(store: store, capacity: 12)
        let near = try await index.matches(userId: 1, hash: 0, maxDistance: 1, excluding: ids[0])
        #expect(near.map(\.mediaId) == [ids[1], ids[2], ids[4], ids[8]] && near.allSatisfy { $0.distance == 1 }, "\(near)")
        #expect(store.handedOut == 10 && index.heldCount == 10)
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 64, excluding: 0)
        #expect(store.handedOut == 10, "nothing changed, nothing read")
        let added = try await add(store, user: 1, phash: 3)
        let again = try await index.matches(userId: 1, hash: 0, maxDistance: 2, excluding: ids[0])
        #expect(store.handedOut == 11 && again.contains { $0.mediaId == added && $0.distance == 2 })
        // User 2's six push past 12: user 1, asked about longest ago, is dropped, and read whole when asked about again.
        _ = try await index.matches(userId: 2, hash: 0, maxDistance: 64, excluding: 0)
        #expect(index.heldCount == 6, "user 1 dropped: \(index.heldCount)")
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 64, excluding: 0)
        #expect(store.handedOut == 11 + 6 + 11 && index.heldCount == 11)
        index.forget([added], userId: 1)
        #expect(index.heldCount == 10)
    }

    /// With the read cache listening, a user none of whose rows changed costs no query at all; a change heard of
    /// (NOTIFY, here called by hand) makes the next request look again.
    @Test func whileTheReadCacheHeardNoChangeOfTheUserNothingIsAsked() async throws {
        let store = CountingStore()
        let first = try await add(store, user: 1, phash: 1)
        let cache = MediaReadCache()
        cache.enable()
        let index = SimilarMediaIndex(store: store, cache: cache)
        let queries = { store.lock.withLock { store.calls } }
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 10, excluding: 0)
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 10, excluding: 0)
        #expect(queries() == 1, "the second request asked nothing")
        cache.invalidate(mediaId: 999, userId: 2)
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 10, excluding: 0)
        #expect(queries() == 1, "another user's change is not this one's")
        let second = try await add(store, user: 1, phash: 3)
        cache.invalidate(mediaId: second, userId: 1)
        let found = try await index.matches(userId: 1, hash: 0, maxDistance: 10, excluding: 0)
        #expect(queries() == 2 && found.map(\.mediaId) == [first, second])
        cache.disable()
        _ = try await index.matches(userId: 1, hash: 0, maxDistance: 10, excluding: 0)
        #expect(queries() == 3, "a cache that hears nothing vouches for nothing")
    }
}

/// The upload's hash on its own task: the same digest as hashing in one go, whatever the chunking, and a backlog
/// over its limit makes the request wait instead of holding the whole upload in memory.
@Suite("Upload digest")
struct UploadDigestTests {
    @Test func chunksHandedOverGiveTheDigestOfTheWholeAndTheBacklogStaysBounded() async throws {
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        let expected = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        for (chunk, backlog) in [(1, 64), (4096, 10_000), (65_536, 1 << 20), (3_000_000, 16 << 20)] {
            let digest = UploadDigest(maxBacklog: backlog)
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                await digest.update(ByteBuffer(bytes: bytes[offset..<end]))
                offset = end
                if chunk == 1 && offset > 50_000 { break }  // a byte at a time: enough to wait on the backlog often
            }
            let got = await digest.finish()
            if chunk == 1 {
                #expect(got == SHA256.hash(data: bytes[0..<offset]).map { String(format: "%02x", $0) }.joined())
            } else {
                #expect(got == expected, "chunks of \(chunk), backlog \(backlog)")
            }
        }
        #expect(await UploadDigest().finish() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty")
    }
}
