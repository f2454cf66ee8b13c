import Foundation
import MediaDomain
import Persistence
import PostgresNIO
import _ConnectionPoolModule
import TestSupport
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
    /// comes wrapped in a `TransactionFailure`; every caller still gets the one row. (It also caught an UPDATE that
    /// took the key off a row committed a moment earlier, so that two rows were made.)
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

    /// Outages are told from bugs through the transaction's wrapper: a session the server ended is "unavailable", a
    /// division by zero or a duplicate key is not, and its SQLSTATE is still readable.
    @Test(.timeLimit(.minutes(1))) func databaseFailuresAreClassifiedThroughTransactions() async throws {
        try await TestServers.withDatabase { client, _ in
            let logger = TestServers.logger
            let terminated = await #expect(throws: TransactionFailure.self) {
                try await client.transaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", logger: logger)
                }
            }
            #expect(terminated.map(DatabaseFailure.isUnavailable) == true, "\(terminated.map(DatabaseFailure.describe) ?? "")")

            let division = await #expect(throws: TransactionFailure.self) {
                try await client.transaction(logger: logger) { connection in
                    try await connection.query("SELECT 1 / 0", logger: logger)
                }
            }
            #expect(division.map(DatabaseFailure.isUnavailable) == false)
            #expect(division.map(DatabaseFailure.sqlState) == "22012")
            #expect(division.map(DatabaseFailure.describe)?.contains("PostgreSQL server 22012: ") == true,
                    "\(division.map(DatabaseFailure.describe) ?? "")")
            #expect(division.map(DatabaseFailure.mayHaveCommitted) == false)

            // Deferred, so the violation surfaces at COMMIT as an ERROR: a definite rollback.
            try await client.query("CREATE TABLE IF NOT EXISTS failure_probe (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)")
            let commit = await #expect(throws: TransactionFailure.self) {
                try await client.transaction(logger: logger) { connection in
                    try await connection.query("INSERT INTO failure_probe VALUES (1), (1)", logger: logger)
                }
            }
            #expect(commit?.stage == .commit)
            #expect(commit.map(DatabaseFailure.mayHaveCommitted) == false, "an ERROR at COMMIT is a rollback")
            #expect(commit.map(DatabaseFailure.sqlState) == "23505")
            #expect(commit.map(DatabaseFailure.isUnavailable) == false)
            try await client.query("DROP TABLE failure_probe")

            // Not a database error at all.
            #expect(DatabaseFailure.isUnavailable(CancellationError()) == false)
            #expect(DatabaseFailure.sqlState(CancellationError()) == nil)
            // The pool's own errors: a lease given up by its caller is not an outage; a pool that stopped trying is.
            #expect(DatabaseFailure.isUnavailable(ConnectionPoolError.requestCancelled) == false)
            #expect(DatabaseFailure.isUnavailable(ConnectionPoolError.poolShutdown))
            #expect(DatabaseFailure.isUnavailable(ConnectionPoolError.connectionCreationCircuitBreakerTripped))
            #expect(DatabaseFailure.describe(ConnectionPoolError.connectionCreationCircuitBreakerTripped)
                .hasPrefix("no database connection could be made"))
        }
    }

    /// The server ends the session while a transaction holds its connection between statements (a restart,
    /// `pg_terminate_backend`). postgres-nio alone never answers the next statement; the transaction must fail
    /// fast, as an outage, and know that its COMMIT was never sent.
    @Test(.timeLimit(.minutes(1))) func sessionEndedBetweenStatementsFailsFastAsUnavailable() async throws {
        try await TestServers.withDatabase { client, _ in
            let logger = TestServers.logger
            for statementAfterClose in [true, false] {
                // The pool may lend the connection the previous round lost before it has seen the close (postgres-nio
                // learns of it asynchronously): that BEGIN fails fast as an outage, and the round is tried again.
                for attempt in 1...5 {
                    let started = ContinuousClock.now
                    let failure = await #expect(throws: TransactionFailure.self) {
                        try await client.transaction(logger: logger) { connection in
                            let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger)
                                .collect().first?.decode(Int32.self) ?? 0
                            try await client.guardedRows("SELECT pg_terminate_backend(\(pid))", logger: logger)  // another connection
                            for _ in 0..<100 where !connection.isClosed { try await Task.sleep(for: .milliseconds(50)) }
                            #expect(connection.isClosed, "the client saw the session end")
                            if statementAfterClose { try await connection.query("SELECT 1", logger: logger) }
                        }
                    }
                    #expect(started.duration(to: .now) < .seconds(5))
                    if failure?.stage == .begin, failure.map(DatabaseFailure.isUnavailable) == true, attempt < 5 { continue }
                    #expect(failure?.stage == (statementAfterClose ? .body : .commit))
                    #expect(failure.map(DatabaseFailure.isUnavailable) == true, "\(failure.map(DatabaseFailure.describe) ?? "")")
                    #expect(failure.map(DatabaseFailure.mayHaveCommitted) == false, "the COMMIT was never sent")
                    break
                }
            }
            // Guarded, as the services ask: a lent connection whose close the pool has not seen yet fails fast (a bare
            // `client.query` on it would wait forever, which is how this test once hung a whole stream); the pool
            // replaces the lost connection within a few tries.
            var answered = false
            for _ in 0..<50 where !answered {
                do {
                    answered = try await client.guardedRows("SELECT 1", logger: logger).count == 1
                } catch where DatabaseFailure.isUnavailable(error) {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(answered, "the pool replaced the lost connection")
        }
    }

    /// The session ends while the COMMIT itself runs (a deferred trigger makes it take 3 s): the outcome is
    /// unknown to the client, which must then keep what the rows point at.
    @Test(.timeLimit(.minutes(1))) func sessionEndedDuringCommitMayHaveCommitted() async throws {
        try await TestServers.withDatabase { client, _ in
            let logger = TestServers.logger
            try await client.query("""
                CREATE OR REPLACE FUNCTION slow_commit_probe() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$
                """)
            try await client.query("CREATE TABLE IF NOT EXISTS slow_commit_probe (id int)")
            try await client.query("DROP TRIGGER IF EXISTS slow_commit_probe ON slow_commit_probe")
            try await client.query("""
                CREATE CONSTRAINT TRIGGER slow_commit_probe AFTER INSERT ON slow_commit_probe
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit_probe()
                """)
            let failure = await #expect(throws: TransactionFailure.self) {
                try await client.transaction(logger: logger) { connection in
                    let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger)
                        .collect().first?.decode(Int32.self) ?? 0
                    try await connection.query("INSERT INTO slow_commit_probe VALUES (1)", logger: logger)
                    Task {
                        // Once the session sleeps in the deferred trigger, it is inside COMMIT.
                        _ = await eventually(timeout: .seconds(20), interval: .milliseconds(20)) {
                            let rows = try? await client.query(
                                "SELECT 1 FROM pg_stat_activity WHERE pid = \(pid) AND wait_event = 'PgSleep'").collect()
                            return rows?.isEmpty == false
                        }
                        try await client.query("SELECT pg_terminate_backend(\(pid))")
                    }
                }
            }
            #expect(failure?.stage == .commit)
            #expect(failure.map(DatabaseFailure.mayHaveCommitted) == true, "\(failure.map(DatabaseFailure.describe) ?? "")")
            #expect(failure.map(DatabaseFailure.isUnavailable) == true)
            // The pool may hand out the terminated connection once more before it notices the close: guarded, that
            // fails fast instead of waiting forever.
            for _ in 0..<20 {
                if (try? await client.guardedRows("SELECT 1", logger: logger)) != nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            _ = try await client.guardedRows("DROP TABLE slow_commit_probe", logger: logger)
            _ = try await client.guardedRows("DROP FUNCTION slow_commit_probe()", logger: logger)
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

    /// The counter rows behind stats and the list's count agree with a real count of the rows after every kind of
    /// change: uploads, folds to ready and failed, reprocess, delete, and concurrent uploads of one user.
    @Test func countersFollowEveryChangeOfTheRows() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            func realCounts() async throws -> [String: Int64] {
                var counts: [String: Int64] = [:]
                for try await (type, status, n) in try await client.query(
                    "SELECT file_type, status, count(*) FROM media WHERE user_id = \(user) GROUP BY 1, 2"
                ).decode((String, String, Int64).self) { counts["\(type)/\(status)"] = n }
                return counts
            }
            func check(_ when: String) async throws {
                let real = try await realCounts()
                let stats = try await repo.stats(userId: user)
                #expect(stats.total == real.values.reduce(0, +), "\(when): total")
                for type in FileType.allCases {
                    let expected = real.filter { $0.key.hasPrefix(type.rawValue + "/") }.values.reduce(0, +)
                    #expect((stats.byType[type] ?? 0) == expected, "\(when): \(type)")
                    #expect(try await repo.list(MediaQuery(userId: user, fileType: type)).count == Int(expected), "\(when): list \(type)")
                }
                for status in MediaStatus.allCases {
                    let expected = real.filter { $0.key.hasSuffix("/" + status.rawValue) }.values.reduce(0, +)
                    #expect((stats.byStatus[status] ?? 0) == expected, "\(when): \(status)")
                }
                #expect(stats.totalSize == stats.total * 1234, "\(when): size")
            }
            // Eight uploads at once: the counter row they share must not lose one.
            let created = try await withThrowingTaskGroup(of: Media?.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        guard case .created(let m) = try await repo.create(newMedia(user, format: i % 2 == 0 ? .jpeg : .mp3))
                        else { return nil }
                        return m
                    }
                }
                var all: [Media] = []
                for try await m in group { if let m { all.append(m) } }
                return all.sorted { $0.id < $1.id }
            }
            #expect(created.count == 8)
            try await check("after uploads")
            let ready = MediaReady(mediaId: created[0].id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                                   bitrate: nil, metadata: [:], processingMs: 1)
            _ = try await repo.apply(.ready(ready), consumer: "itest")
            let failed = MediaFailed(mediaId: created[1].id, generation: 1, error: MediaError(code: "x", message: "x"), attempts: 1)
            _ = try await repo.apply(.failed(failed), consumer: "itest")
            try await check("after folds")
            _ = try await repo.reprocess(id: created[1].id, userId: user)
            try await check("after reprocess")
            _ = try await repo.delete(id: created[0].id, userId: user)
            _ = try await repo.delete(id: created[2].id, userId: user)
            try await check("after deletes")
            // Newest first; concurrent uploads' creation times need not follow their ids.
            let remaining = created.filter { ![created[0].id, created[2].id].contains($0.id) }
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            let page = try await repo.list(MediaQuery(userId: user, offset: 4, limit: 2))
            #expect(page.count == 6 && page.items.map(\.id) == remaining[4...].map(\.id))
            #expect(try await repo.list(MediaQuery(userId: user, offset: 6, limit: 2)).items.isEmpty)
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

    /// The Janitor's `backfill` (SPEC §12, §13) on real SQL: a ready media without a placeholder is found, gets one once,
    /// and neither another generation nor one a job made is written over; one with a placeholder but no perceptual hash
    /// (made before SPEC §13) gets the hash and keeps its placeholder.
    @Test func placeholdersAreBackfilledOnceAndOnlyIntoTheGenerationThatWasRead() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            guard case .created(let media) = try await repo.create(newMedia(user)) else { return }
            let ready = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 40, height: 30,
                                   duration: nil, bitrate: nil, metadata: ["format": "jpeg"], processingMs: 9)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .applied)
            let missing = try await repo.mediaMissingPlaceholders(after: media.id - 1, limit: 10)
            #expect(missing.first?.id == media.id)
            let placeholder: [String: JSONValue] = ["thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI", "dominant_color": "#1e3cc8"]
            var fields = placeholder
            fields["phash"] = "c3d2e1f0a5968778"
            #expect(try await repo.addPlaceholders(id: media.id, generation: 2, fields: fields, fence: nil) == false)
            // Made before SPEC §13: a placeholder without a perceptual hash is still missing something.
            #expect(try await repo.addPlaceholders(id: media.id, generation: 1, fields: placeholder, fence: nil) == true)
            #expect(try await repo.mediaMissingPlaceholders(after: media.id - 1, limit: 10).first?.id == media.id)
            var later = fields
            later["thumbhash"] = "x"
            #expect(try await repo.addPlaceholders(id: media.id, generation: 1, fields: later, fence: nil) == true)
            #expect(try await repo.addPlaceholders(id: media.id, generation: 1, fields: ["phash": "0000000000000000"], fence: nil) == false)
            let row = try #require(try await repo.find(id: media.id))
            #expect(row.metadata["thumbhash"] == "1QcSHQRnh493V4dIh4eXh1h4kJUI" && row.metadata["format"] == "jpeg")
            #expect(row.metadata["phash"] == "c3d2e1f0a5968778", "the hash added, the placeholder kept: \(row.metadata)")
            #expect(row.updatedAt == (try await repo.find(id: media.id))?.updatedAt)
            #expect(try await repo.mediaMissingPlaceholders(after: media.id - 1, limit: 10).allSatisfy { $0.id != media.id })
        }
    }

    /// SPEC §13 on real SQL: `sha256` is stored with the row; `metadata.phash` becomes `media.phash` through the trigger,
    /// each change with a new sequence, so a reader asking "since the last one" sees exactly what changed; the backfill
    /// hashes only rows without one.
    @Test func contentHashIsStoredAndPerceptualHashChangesAreReportedOnceInOrder() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            var new = newMedia(user)
            new.sha256 = String(repeating: "ab", count: 32)
            guard case .created(let hashed) = try await repo.create(new),
                  case .created(let other) = try await repo.create(newMedia(user))
            else { Issue.record("not created"); return }
            #expect(hashed.sha256 == String(repeating: "ab", count: 32))
            #expect(try await repo.find(id: hashed.id)?.sha256 == String(repeating: "ab", count: 32))
            #expect(try await repo.mediaWithoutContentHash(after: hashed.id - 1, limit: 10).map(\.id).contains(other.id))
            #expect(try await repo.addContentHash(id: other.id, sha256: String(repeating: "cd", count: 32), fence: nil))
            #expect(try await repo.addContentHash(id: other.id, sha256: String(repeating: "ef", count: 32), fence: nil) == false)
            #expect(try await repo.find(id: other.id)?.sha256 == String(repeating: "cd", count: 32))

            #expect(try await repo.perceptualHashChanges(userId: user, after: 0, limit: 10).isEmpty, "no hash yet")
            let ready = MediaReady(mediaId: hashed.id, generation: 1, renditions: [:], width: 4, height: 3, duration: nil,
                                   bitrate: nil, metadata: ["phash": "f0f0f0f0f0f0f0f1"], processingMs: 1)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .applied)
            let first = try await repo.perceptualHashChanges(userId: user, after: 0, limit: 10)
            #expect(first.map(\.mediaId) == [hashed.id] && first.first?.hash == 0xf0f0_f0f0_f0f0_f0f1, "\(first)")
            let seen = try #require(first.last?.sequence)
            #expect(try await repo.perceptualHashChanges(userId: user, after: seen, limit: 10).isEmpty, "nothing new")
            #expect(try await repo.perceptualHashChanges(userId: user + 1, after: 0, limit: 10).isEmpty, "another user's")
            // A top bit set is a negative bigint in PostgreSQL and the same 64 bits here.
            let readyOther = MediaReady(mediaId: other.id, generation: 1, renditions: [:], width: 4, height: 3, duration: nil,
                                        bitrate: nil, metadata: ["phash": "8000000000000000"], processingMs: 1)
            #expect(try await repo.apply(.ready(readyOther), consumer: "itest") == .applied)
            let second = try await repo.perceptualHashChanges(userId: user, after: seen, limit: 10)
            #expect(second.map(\.mediaId) == [other.id] && second.first?.hash == 1 << 63, "\(second)")
            #expect(try await repo.existingIds([hashed.id, other.id, 1], userId: user) == [hashed.id, other.id])
            #expect(try await repo.media(ids: [hashed.id, other.id], userId: user + 1).isEmpty)
        }
    }
}
