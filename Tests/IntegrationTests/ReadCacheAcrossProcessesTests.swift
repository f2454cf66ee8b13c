import Foundation
import Logging
import MediaDomain
import Persistence
import PostgresNIO
import Testing
import TestSupport

/// Two Gateways' read caches on one real PostgreSQL: a change made through one (or straight in the database) reaches
/// the other's cache through `NOTIFY media_changed`, and a lost listener switches caching off until it is back.
@Suite("Read cache across processes on real PostgreSQL", .serialized,
       .enabled(if: TestServers.available, "needs make test's servers"))
struct ReadCacheAcrossProcessesTests {
    /// A Gateway's view: its own cache, listener and caching repository over the shared database.
    struct Gateway {
        let cache = MediaReadCache()
        let repository: CachingMediaRepository
        let listener: Task<Void, Never>

        init(client: PostgresClient, base: PostgresMediaRepository) {
            repository = CachingMediaRepository(base: base, cache: cache)
            let listener = MediaChangeListener(client: client, cache: cache, logger: TestServers.logger)
            self.listener = Task { await listener.run() }
        }
    }

    @Test func aChangeMadeElsewhereReachesThisCache() async throws {
        try await TestServers.withDatabase { client, base in
            let a = Gateway(client: client, base: base)
            let b = Gateway(client: client, base: base)
            defer { a.listener.cancel(); b.listener.cancel() }
            #expect(await eventually { a.cache.isEnabled && b.cache.isEnabled }, "both listeners connected")
            let user = Int64.random(in: 1_000_000...9_000_000_000)
            guard case .created(let media) = try await a.repository.create(NewMedia(
                userId: user, username: "c", format: .jpeg, fileSize: 10, originalFilename: "a.jpg",
                storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg), isPublic: true))
            else { Issue.record("not created"); return }

            // B reads and caches (once the insert's own notification has passed: a read it overtook stores nothing).
            #expect(try await b.repository.find(id: media.id)?.isPublic == true)
            #expect(try await b.repository.stats(userId: user).total == 1)
            #expect(try await eventually(timeout: .seconds(5), interval: .milliseconds(10)) {
                _ = try await b.repository.find(id: media.id)
                _ = try await b.repository.stats(userId: user)
                return b.cache.media(id: media.id) != nil && b.cache.stats(userId: user) != nil
            })

            // A changes the row: B's cache drops it when the notification arrives, and B then reads the change.
            _ = try await a.repository.setPublic(id: media.id, userId: user, isPublic: false)
            #expect(await eventually(timeout: .seconds(5), interval: .milliseconds(10)) { b.cache.media(id: media.id) == nil })
            #expect(try await b.repository.find(id: media.id)?.isPublic == false)

            // A change made straight in the database (as the Janitor or an operator would) reaches both.
            _ = try await a.repository.find(id: media.id)
            _ = try await client.query("UPDATE media SET status = 'failed' WHERE id = \(media.id)")
            #expect(await eventually(timeout: .seconds(5), interval: .milliseconds(10)) {
                a.cache.media(id: media.id) == nil && b.cache.media(id: media.id) == nil && b.cache.stats(userId: user) == nil
            })
            #expect(try await a.repository.find(id: media.id)?.status == .failed)
            #expect(try await b.repository.stats(userId: user).byStatus[.failed] == 1)

            // Deleted elsewhere: gone from B too.
            _ = try await a.repository.delete(id: media.id, userId: user)
            #expect(await eventually(timeout: .seconds(5), interval: .milliseconds(10)) { b.cache.media(id: media.id) == nil })
            #expect(try await b.repository.find(id: media.id) == nil)
        }
    }

    @Test func aLostListenerSwitchesCachingOffUntilItIsBack() async throws {
        try await TestServers.withDatabase { client, base in
            let a = Gateway(client: client, base: base)
            defer { a.listener.cancel() }
            #expect(await eventually { a.cache.isEnabled })
            // The listener's session ends, as in a PostgreSQL restart or a network cut.
            _ = try await client.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE query LIKE 'LISTEN%media_changed%' AND pid <> pg_backend_pid()
                """)
            #expect(await eventually(timeout: .seconds(5), interval: .milliseconds(10)) { !a.cache.isEnabled },
                    "caching stops when changes can no longer be heard")
            #expect(await eventually(timeout: .seconds(10)) { a.cache.isEnabled }, "and starts again once they can")
        }
    }
}
