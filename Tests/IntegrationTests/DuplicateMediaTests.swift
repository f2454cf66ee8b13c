import Foundation
import Logging
import MediaDomain
import Persistence
import PostgresNIO
import TestSupport
import Testing

/// Duplicate uploads (SPEC §13) on the real PostgreSQL: the shared files, the ledger counting them once, the outcome a
/// follower takes from its leader, and what a deletion leaves.
@Suite("Duplicate media", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct DuplicateMediaTests {
    static func freshUser() -> Int64 { Int64.random(in: 1_000_000...9_000_000_000) }

    func upload(_ user: Int64, sha: String, size: Int64 = 5000) -> NewMedia {
        NewMedia(userId: user, username: "u\(user)", format: .jpeg, fileSize: size, originalFilename: "a.jpg",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg),
                 isPublic: false, sha256: sha)
    }

    static func sha() -> String { (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }

    func ready(_ media: Media, generation: Int? = nil) -> MediaReady {
        let gen = generation ?? media.generation
        let medium = StorageKeys.rendition(original: media.storageKey, generation: gen, name: "medium", ext: "jpg")
        return MediaReady(
            mediaId: media.id, generation: gen,
            renditions: ["medium": RenditionInfo(key: medium, mimeType: "image/jpeg", width: 64, height: 48, fileSize: 700)],
            width: 640, height: 480, duration: nil, bitrate: nil, metadata: ["format": "jpeg"], processingMs: 5)
    }

    func outboxCount(_ client: PostgresClient, mediaId: Int64) async throws -> Int {
        var count = 0
        for try await n in try await client.query(
            "SELECT count(*)::int8 FROM outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'media_id' = \(String(mediaId))"
        ).decode(Int64.self) { count = Int(n) }
        return count
    }

    /// The ledger's rows of these keys: key → owning media.
    func ledger(_ client: PostgresClient, keys: [String]) async throws -> [String: Int64] {
        var owners: [String: Int64] = [:]
        for try await (key, owner) in try await client.query(
            "SELECT key, media_id FROM stored_objects WHERE key = ANY(\(keys))").decode((String, Int64).self)
        {
            owners[key] = owner
        }
        return owners
    }

    func used(_ client: PostgresClient, _ user: Int64) async throws -> Int64 {
        try await PostgresQuotaStore(client: client, logger: TestServers.logger).usage(userId: user, defaultLimit: 0).usedBytes
    }

    @Test func duplicateOfProcessingMediaSharesFilesTakesItsOutcomeAndIsCountedOnce() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            let sha = Self.sha()
            guard case .created(let first) = try await repo.create(upload(user, sha: sha)) else { Issue.record("first"); return }
            guard case .created(let second) = try await repo.create(upload(user, sha: sha)) else { Issue.record("second"); return }
            #expect(second.id != first.id && second.status == .processing)
            #expect(second.storageKey == first.storageKey, "records the first one's original, not its own")
            #expect(second.metadata[Duplicates.metadataKey] == .int(first.id))
            #expect(try await outboxCount(client, mediaId: second.id) == 0, "no job of its own")
            #expect(try await outboxCount(client, mediaId: first.id) == 1)
            #expect(try await used(client, user) == 5000, "the shared original counted once")

            // Another user's identical upload is never matched.
            let stranger = user + 1
            guard case .created(let theirs) = try await repo.create(upload(stranger, sha: sha)) else { Issue.record("other"); return }
            #expect(theirs.storageKey != first.storageKey && theirs.metadata[Duplicates.metadataKey] == nil)

            let event = ready(first)
            #expect(try await repo.apply(.ready(event), consumer: "itest") == .applied)
            let follower = try #require(try await repo.find(id: second.id))
            #expect(follower.status == .ready && follower.renditions == event.renditions && follower.width == 640)
            #expect(follower.metadata[Duplicates.metadataKey] == .int(first.id) && follower.metadata["format"] == "jpeg")
            let keys = [first.storageKey, event.renditions["medium"]!.key]
            #expect(try await ledger(client, keys: keys) == [keys[0]: first.id, keys[1]: first.id])
            #expect(try await used(client, user) == 5700, "original and rendition once each")

            // Deleting the first leaves the files to the second (the ledger row passes to it, still counted once).
            #expect(try await repo.delete(id: first.id, userId: user) != nil)
            let folder = try #require(StorageKeys.mediaFolderName(of: first.storageKey))
            #expect(try await repo.isFolderInUse(folder))
            #expect(try await ledger(client, keys: keys) == [keys[0]: second.id, keys[1]: second.id])
            #expect(try await used(client, user) == 5700)
            // Deleting the second, the last user of the files, takes them out of the ledger and the quota.
            #expect(try await repo.delete(id: second.id, userId: user) != nil)
            #expect(try await repo.isFolderInUse(folder) == false)
            #expect(try await ledger(client, keys: keys).isEmpty)
            #expect(try await used(client, user) == 0)
        }
    }

    @Test func duplicateOfReadyMediaIsReadyAtOnceAndFailedMediaAreNeverMatched() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            let sha = Self.sha()
            guard case .created(let first) = try await repo.create(upload(user, sha: sha)) else { Issue.record("first"); return }
            _ = try await repo.apply(.ready(ready(first)), consumer: "itest")
            guard case .created(let second) = try await repo.create(upload(user, sha: sha)) else { Issue.record("second"); return }
            #expect(second.status == .ready && second.renditions == ready(first).renditions && second.height == 480)
            #expect(second.metadata[Duplicates.metadataKey] == .int(first.id))
            #expect(try await outboxCount(client, mediaId: second.id) == 0)

            // A failed media is not a source: the same bytes after a failure are processed anew.
            let other = Self.sha()
            guard case .created(let broken) = try await repo.create(upload(user, sha: other)) else { Issue.record("broken"); return }
            let failure = MediaFailed(mediaId: broken.id, generation: 1, error: MediaError(code: "decode_failed", message: "x"),
                                      attempts: 1)
            #expect(try await repo.apply(.failed(failure), consumer: "itest") == .applied)
            guard case .created(let retry) = try await repo.create(upload(user, sha: other)) else { Issue.record("retry"); return }
            #expect(retry.storageKey != broken.storageKey && retry.metadata[Duplicates.metadataKey] == nil)
            #expect(try await outboxCount(client, mediaId: retry.id) == 1)
        }
    }

    @Test func followersFailWithTheirLeaderAndAReprocessGivesOneItsOwnGeneration() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            let sha = Self.sha()
            guard case .created(let first) = try await repo.create(upload(user, sha: sha)),
                  case .created(let second) = try await repo.create(upload(user, sha: sha)),
                  case .created(let third) = try await repo.create(upload(user, sha: sha))
            else { Issue.record("not created"); return }
            #expect(third.metadata[Duplicates.metadataKey] == .int(first.id))
            let failure = MediaFailed(mediaId: first.id, generation: 1, error: MediaError(code: "decode_failed", message: "bad"),
                                      attempts: 2)
            #expect(try await repo.apply(.failed(failure), consumer: "itest") == .applied)
            for id in [second.id, third.id] {
                let media = try #require(try await repo.find(id: id))
                #expect(media.status == .failed && media.metadata["error"]?.objectValue?["code"] == "decode_failed")
            }
            // The follower's reprocess moves past every generation of the shared folder: its renditions are its own.
            guard case .started(let again) = try await repo.reprocess(id: second.id, userId: user) else {
                Issue.record("not reprocessed"); return
            }
            #expect(again.generation == 2 && again.metadata[Duplicates.metadataKey] == nil)
            guard case .started(let leaderAgain) = try await repo.reprocess(id: first.id, userId: user) else {
                Issue.record("leader not reprocessed"); return
            }
            #expect(leaderAgain.generation == 3, "past the follower's 2: no two media write the same generation")
        }
    }

    /// The leader is deleted while its job runs: the job's outcome still reaches the duplicate waiting on it.
    @Test func aDeletedLeadersOutcomeStillReachesItsFollower() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            let sha = Self.sha()
            guard case .created(let first) = try await repo.create(upload(user, sha: sha)),
                  case .created(let second) = try await repo.create(upload(user, sha: sha))
            else { Issue.record("not created"); return }
            _ = try await repo.delete(id: first.id, userId: user)
            #expect(try await repo.isFolderInUse(try #require(StorageKeys.mediaFolderName(of: first.storageKey))))
            #expect(try await repo.apply(.ready(ready(first)), consumer: "itest") == .applied)
            let follower = try #require(try await repo.find(id: second.id))
            #expect(follower.status == .ready && follower.renditions == ready(first).renditions)
        }
    }

    /// Two identical uploads at once end as one stored copy or two; whichever, every media records an original that
    /// a media row still owns and nothing waits on a job that does not exist.
    @Test func concurrentIdenticalUploadsNeverLeaveABrokenLink() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            let sha = Self.sha()
            let made = try await withThrowingTaskGroup(of: Media?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        if case .created(let media) = try await repo.create(upload(user, sha: sha)) { return media }
                        return nil
                    }
                }
                return try await group.reduce(into: [Media]()) { if let media = $1 { $0.append(media) } }
            }
            #expect(made.count == 8)
            let originals = Set(made.map(\.storageKey))
            for media in made where media.metadata[Duplicates.metadataKey] != nil {
                let leader = try #require(media.metadata[Duplicates.metadataKey]?.intValue)
                #expect(made.contains { $0.id == leader && $0.storageKey == media.storageKey }, "follows a media with its original")
            }
            for key in originals {
                #expect(try await outboxCount(client, mediaId: made.first { $0.storageKey == key && $0.metadata[Duplicates.metadataKey] == nil }?.id ?? -1) == 1,
                        "each stored copy has one job")
            }
            #expect(try await ledger(client, keys: Array(originals)).count == originals.count)
        }
    }
}
