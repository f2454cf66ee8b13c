import Foundation
import MediaDomain
import Persistence
import PostgresNIO
import Testing

/// The repository against the real PostgreSQL: every SQL statement runs for real.
@Suite("PostgreSQL repository", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct PostgresRepositoryTests {
    /// A user id no other test uses, so tests can share one database.
    static func freshUser() -> Int64 { Int64.random(in: 1_000_000...9_000_000_000) }

    func newMedia(_ user: Int64, format: MediaFormat = .jpeg, key: String? = nil, idempotencyKey: String? = nil) -> NewMedia {
        NewMedia(userId: user, username: "u\(user)", format: format, fileSize: 1234, originalFilename: "a.jpg",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format),
                 isPublic: false, idempotencyKey: idempotencyKey)
    }

    @Test func createWritesRowAndOutboxInOneTransaction() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            guard case .created(let media) = try await repo.create(newMedia(user)) else { Issue.record("not created"); return }
            #expect(media.status == .processing && media.generation == 1 && media.fileType == .image)
            var found = false
            for try await (key, body) in try await client.query(
                "SELECT routing_key, convert_from(body, 'UTF8') FROM outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'media_id' = \(String(media.id))"
            ).decode((String, String).self) {
                #expect(key == "media.uploaded.image")
                let event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(body.utf8))
                #expect(event.mediaId == media.id && event.storageKey == media.storageKey)
                found = true
            }
            #expect(found, "outbox row of the upload")
            #expect(try await repo.find(id: media.id) == media)
            #expect(try await repo.find(storagePrefix: StorageKeys.mediaPrefix(ofOriginal: media.storageKey))?.id == media.id)
        }
    }

    /// A pool of one used to trap in postgres-nio (its minimum of 2 above the maximum) once a connection came back.
    @Test func poolOfOneServesQueryAfterQuery() async throws {
        try await TestServers.withDatabase(maxConnections: 1) { _, repository in
            for _ in 0..<3 { try await repository.ping() }
            #expect(try await repository.find(id: -1) == nil)
        }
    }

    @Test func idempotencyKeyPerUser() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            guard case .created(let first) = try await repo.create(newMedia(user, idempotencyKey: "k1")) else { Issue.record("first"); return }
            #expect(try await repo.create(newMedia(user, idempotencyKey: "k1")) == .existing(first))
            guard case .created = try await repo.create(newMedia(user + 1, idempotencyKey: "k1")) else { Issue.record("other user"); return }
        }
    }

    /// SPEC keeps a key for 24 hours: after that the same key makes a new media, and the old one loses the key.
    @Test func idempotencyKeyIsFreeAgainAfter24Hours() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            guard case .created(let old) = try await repo.create(newMedia(user, idempotencyKey: "day")) else { Issue.record("first"); return }
            try await client.query("UPDATE media SET created_at = now() - interval '25 hours' WHERE id = \(old.id)")
            guard case .created(let new) = try await repo.create(newMedia(user, idempotencyKey: "day")) else { Issue.record("second"); return }
            #expect(new.id != old.id)
            #expect(try await repo.create(newMedia(user, idempotencyKey: "day")) == .existing(new))
            let keys = try await client.query("SELECT idempotency_key FROM media WHERE id = \(old.id)").collect()
            #expect(try keys.first?.decode(String?.self) == .some(nil), "the old row gave up its key")
        }
    }

    /// Concurrent uploads with one key: the losers' INSERT hits the unique index inside the transaction, which
    /// PostgresNIO reports wrapped in a `PostgresTransactionError`; every caller still gets the one row.
    @Test func concurrentCreatesWithOneIdempotencyKeyShareOneRow() async throws {
        try await TestServers.withDatabase { _, repo in
            for round in 0..<20 {
                let user = Self.freshUser()
                let results = try await withThrowingTaskGroup(of: CreateMediaResult.self) { group in
                    for _ in 0..<6 {
                        group.addTask { try await repo.create(newMedia(user, idempotencyKey: "race")) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let created = results.compactMap { if case .created(let m) = $0 { m } else { nil } }
                let ids = Set(results.map { switch $0 { case .created(let m), .existing(let m): m.id } })
                let summary = results.map { switch $0 { case .created(let m): "created \(m.id)"; case .existing(let m): "existing \(m.id)" } }
                #expect(created.count == 1 && ids.count == 1, "round \(round): \(summary)")
            }
        }
    }

    /// Outages are told from bugs through `withTransaction`'s wrapper: a backend terminated mid-transaction is
    /// "unavailable", a division by zero or a duplicate key is not, and its SQLSTATE is still readable.
    @Test func databaseFailuresAreClassifiedThroughTransactions() async throws {
        try await TestServers.withDatabase { client, _ in
            let logger = TestServers.logger
            let terminated = await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: logger)
                }
            }
            #expect(terminated is PostgresTransactionError)
            #expect(terminated.map(DatabaseFailure.isUnavailable) == true, "\(terminated.map(DatabaseFailure.describe) ?? "")")

            let division = await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT 1 / 0", logger: logger)
                }
            }
            #expect(division.map(DatabaseFailure.isUnavailable) == false)
            #expect(division.map(DatabaseFailure.sqlState) == "22012")
            #expect(division.map(DatabaseFailure.describe)?.contains("22012: division by zero") == true,
                    "\(division.map(DatabaseFailure.describe) ?? "")")
            #expect(division.map(DatabaseFailure.mayHaveCommitted) == false)

            // Deferred, so the violation surfaces at COMMIT: the one case where the outcome is the server's to tell.
            try await client.query("CREATE TABLE IF NOT EXISTS failure_probe (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)")
            let commit = await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("INSERT INTO failure_probe VALUES (1), (1)", logger: logger)
                }
            }
            #expect(commit.map(DatabaseFailure.mayHaveCommitted) == true)
            #expect(commit.map(DatabaseFailure.sqlState) == "23505")
            #expect(commit.map(DatabaseFailure.isUnavailable) == false)
            try await client.query("DROP TABLE failure_probe")

            // Not a database error at all.
            #expect(DatabaseFailure.isUnavailable(CancellationError()) == false)
            #expect(DatabaseFailure.sqlState(CancellationError()) == nil)
        }
    }

    @Test func listStatsDeleteAndReprocess() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            var ids: [Int64] = []
            for format in [MediaFormat.jpeg, .mp4, .mp3] {
                guard case .created(let m) = try await repo.create(newMedia(user, format: format)) else { return }
                ids.append(m.id)
            }
            let page = try await repo.list(MediaQuery(userId: user, offset: 0, limit: 2))
            #expect(page.count == 3)
            #expect(page.items.map(\.id) == [ids[2], ids[1]])
            #expect(try await repo.list(MediaQuery(userId: user, fileType: .video)).items.map(\.id) == [ids[1]])
            let stats = try await repo.stats(userId: user)
            #expect(stats.total == 3 && stats.byType[.audio] == 1 && stats.byStatus[.processing] == 3 && stats.totalSize == 3 * 1234)

            #expect(try await repo.reprocess(id: ids[0], userId: user) == .notFailed(try #require(try await repo.find(id: ids[0]))))
            let failed = MediaFailed(mediaId: ids[0], generation: 1, error: MediaError(code: "decode_failed", message: "x"), attempts: 1)
            #expect(try await repo.apply(.failed(failed), consumer: "itest") == .applied)
            guard case .started(let again) = try await repo.reprocess(id: ids[0], userId: user) else { Issue.record("reprocess"); return }
            #expect(again.generation == 2 && again.status == .processing && again.metadata["error"] == nil)
            #expect(try await repo.reprocess(id: ids[0], userId: user + 1) == .notFound)

            #expect(try await repo.delete(id: ids[1], userId: user + 1) == nil)
            #expect(try await repo.delete(id: ids[1], userId: user)?.id == ids[1])
            #expect(try await repo.find(id: ids[1]) == nil)
        }
    }

    @Test func foldIsOnceAndGenerationGuarded() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            guard case .created(let media) = try await repo.create(newMedia(user)) else { return }
            let renditions = ["medium": RenditionInfo(key: "media/x/g1/medium.jpg", mimeType: "image/jpeg", width: 640, height: 480, fileSize: 10)]
            let ready = MediaReady(mediaId: media.id, generation: 1, renditions: renditions, width: 4000, height: 3000,
                                   duration: nil, bitrate: nil, metadata: ["format": "jpeg", "gps": "52N"], processingMs: 99)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .applied)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .duplicate)
            let row = try #require(try await repo.find(id: media.id))
            #expect(row.status == .ready && row.width == 4000 && row.renditions == renditions)
            #expect(row.metadata["processing_ms"] == 99 && row.metadata["gps"] == nil)

            // A late failure of the same generation does not undo ready; an old generation is ignored.
            let lateFailure = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "x", message: "y"), attempts: 3)
            #expect(try await repo.apply(.failed(lateFailure), consumer: "itest") == .ignored)
            let old = MediaReady(mediaId: media.id, generation: 0, renditions: [:], width: 1, height: 1, duration: nil,
                                 bitrate: nil, metadata: [:], processingMs: 1)
            #expect(try await repo.apply(.ready(old), consumer: "itest") == .ignored)
            #expect(try await repo.find(id: media.id)?.width == 4000)
            // Deleted media: ignored.
            _ = try await repo.delete(id: media.id, userId: user)
            let afterDelete = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                                         bitrate: nil, metadata: [:], processingMs: 1)
            #expect(try await repo.apply(.ready(afterDelete), consumer: "itest") == .ignored)
        }
    }
}
