import Foundation
import Logging
import MediaDomain
import PostgresNIO

extension PostgresMediaRepository: OperationsStore {
    // MARK: failed_cleanup

    public func failedMedia(olderThan age: Duration, limit: Int) async throws -> [Media] {
        try fetchAll(try await rows(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE status = 'failed' AND updated_at < now() - \(age.milliseconds) * interval '1 millisecond'
            ORDER BY updated_at LIMIT \(limit)
            """))
    }

    public func deleteFailed(id: Int64, olderThan age: Duration, fence: JanitorFence?) async throws -> Media? {
        try await fenced(fence) { connection in
            try await one(
                """
                DELETE FROM media WHERE id = \(id) AND status = 'failed'
                  AND updated_at < now() - \(age.milliseconds) * interval '1 millisecond'
                RETURNING \(unescaped: Self.columns)
                """, on: connection)
        }
    }

    /// `body` in a transaction that first checks `fence` (holding the lease row in share mode, so a successor's takeover
    /// waits for this transaction and every write after it is refused).
    func fenced<T: Sendable>(_ fence: JanitorFence?, _ body: (GuardedConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await client.transaction(logger: logger) { connection in
                try await Self.checkFence(fence, on: connection, logger: logger)
                return try await body(connection)
            }
        } catch let failure as TransactionFailure where failure.underlying is JanitorFenceLost {
            throw failure.underlying  // said as it is: the caller tells a deposed Janitor from a database fault
        }
    }

    static func checkFence(_ fence: JanitorFence?, on connection: GuardedConnection, logger: Logger) async throws {
        guard let fence else { return }
        let held = try await connection.query(
            "SELECT 1 FROM janitor_lease WHERE id = 1 AND epoch = \(fence.epoch) FOR SHARE", logger: logger).collect()
        if held.isEmpty { throw JanitorFenceLost(epoch: fence.epoch) }
    }

    // MARK: the acting Janitor

    public func takeJanitorLease(holder: String) async throws -> JanitorFence {
        guard let epoch = try await rows(
            "UPDATE janitor_lease SET epoch = epoch + 1, holder = \(holder), taken_at = now() WHERE id = 1 RETURNING epoch"
        ).first?.decode(Int64.self)
        else { throw PersistenceError.corruptRow("janitor_lease has no row") }
        return JanitorFence(epoch: epoch)
    }

    public func checkFence(_ fence: JanitorFence?) async throws {
        guard fence != nil else { return }
        try await fenced(fence) { _ in }
    }

    // MARK: orphan_sweep

    public func owners(ofFolders folders: [String]) async throws -> [String: FolderOwner] {
        guard !folders.isEmpty else { return [:] }
        var owners: [String: FolderOwner] = [:]
        for row in try await rows(
            """
            SELECT split_part(storage_key, '/', 2), id, storage_key, generation, status FROM media
            WHERE split_part(storage_key, '/', 2) = ANY(\(folders))
            """)
        {
            let (folder, id, key, generation, status) = try row.decode((String, Int64, String, Int, String).self)
            guard let status = MediaStatus(rawValue: status) else { continue }
            // Duplicates share a folder (SPEC §13): the oldest generation any of them records is kept, with all after.
            if let other = owners[folder], other.generation <= generation { continue }
            owners[folder] = FolderOwner(mediaId: id, originalKey: key, generation: generation, status: status)
        }
        return owners
    }

    // MARK: stuck_processing

    public func stuckMedia(_ rule: StuckRule, limit: Int) async throws -> [StuckMedia] {
        var republishes: [Int64: Int] = [:]
        for row in try await rows(
            """
            SELECT m.id, m.stuck_republishes FROM media m WHERE \(unescaped: rule.sqlCondition)
            ORDER BY m.updated_at LIMIT \(limit)
            """)
        {
            let (id, count) = try row.decode((Int64, Int).self)
            republishes[id] = count
        }
        guard !republishes.isEmpty else { return [] }
        let ids = Array(republishes.keys)
        return try fetchAll(try await rows(
            "SELECT \(unescaped: Self.columns) FROM media WHERE id = ANY(\(ids)) ORDER BY updated_at"
        )).map { StuckMedia(media: $0, republishes: republishes[$0.id] ?? 0) }
    }

    public func republishStuck(id: Int64, generation: Int, rule: StuckRule, limit: Int, fence: JanitorFence?) async throws -> Bool {
        let logger = self.logger
        return try await fenced(fence) { connection in
            guard let media = try await one(
                """
                UPDATE media m SET stuck_republishes = stuck_republishes + 1, updated_at = now()
                WHERE m.id = \(id) AND m.generation = \(generation) AND m.stuck_republishes < \(limit)
                  AND \(unescaped: rule.sqlCondition)
                RETURNING \(unescaped: Self.qualifiedColumns)
                """, on: connection)
            else { return false }
            // The job it had is over: the republished one is queued (not stuck) until a worker starts it.
            try await connection.query(
                "UPDATE processing_jobs SET running = false WHERE media_id = \(id) AND generation = \(generation)",
                logger: logger)
            try await Self.enqueue(.uploaded(media.uploadedEvent()), on: connection, logger: logger)
            return true
        }
    }

    public func failStuck(id: Int64, generation: Int, rule: StuckRule, error: MediaError, fence: JanitorFence?) async throws -> Bool {
        let logger = self.logger
        return try await fenced(fence) { connection in
            guard let current = try await one(
                """
                SELECT \(unescaped: Self.qualifiedColumns) FROM media m
                WHERE m.id = \(id) AND m.generation = \(generation) AND \(unescaped: rule.sqlCondition)
                FOR UPDATE
                """, on: connection)
            else { return false }
            let failed = MediaFailed(mediaId: id, generation: generation, error: error,
                                     attempts: Int(current.metadata["attempts"]?.intValue ?? 1))
            try await connection.query(
                """
                UPDATE media SET status = 'failed',
                       metadata = \(try Self.json(MetadataFolding.failed(current.metadata, failed)))::jsonb,
                       updated_at = now()
                WHERE id = \(id)
                """, logger: logger)
            try await connection.query(
                "UPDATE processing_jobs SET running = false WHERE media_id = \(id) AND generation = \(generation)",
                logger: logger)
            // Announced like a processor's failure, for whoever follows outcomes (the fold finds the row failed already).
            try await Self.enqueue(try .failed(failed), on: connection, logger: logger)
            return true
        }
    }

    // MARK: backfill

    public func mediaMissingPlaceholders(after id: Int64, limit: Int) async throws -> [Media] {
        try fetchAll(try await rows(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE id > \(id) AND status = 'ready'
              AND (NOT metadata ? 'thumbhash' OR (file_type <> 'audio' AND NOT metadata ? 'phash'))
            ORDER BY id LIMIT \(limit)
            """))
    }

    public func addPlaceholders(id: Int64, generation: Int, fields: [String: JSONValue], fence: JanitorFence?) async throws -> Bool {
        let logger = self.logger
        return try await fenced(fence) { connection in
            let updated = try await connection.query(
                """
                UPDATE media SET metadata = \(try Self.json(fields))::jsonb || metadata
                WHERE id = \(id) AND generation = \(generation) AND status = 'ready'
                  AND (NOT metadata ? 'thumbhash' OR (file_type <> 'audio' AND NOT metadata ? 'phash'))
                RETURNING id
                """, logger: logger).collect()
            return !updated.isEmpty
        }
    }

    public func mediaWithoutContentHash(after id: Int64, limit: Int) async throws -> [Media] {
        // `media_without_sha256` is the to-do list: it empties as the backfill goes.
        try fetchAll(try await rows(
            "SELECT \(unescaped: Self.columns) FROM media WHERE sha256 IS NULL AND id > \(id) ORDER BY id LIMIT \(limit)"))
    }

    public func addContentHash(id: Int64, sha256: String, fence: JanitorFence?) async throws -> Bool {
        let logger = self.logger
        return try await fenced(fence) { connection in
            !(try await connection.query(
                "UPDATE media SET sha256 = \(sha256) WHERE id = \(id) AND sha256 IS NULL RETURNING id", logger: logger
            ).collect()).isEmpty
        }
    }

    // MARK: outbox_watch

    public func outboxBacklog(olderThan age: Duration) async throws -> OutboxBacklog {
        let rows = try await rows(
            """
            SELECT count(*) FILTER (WHERE created_at < now() - \(age.milliseconds) * interval '1 millisecond'),
                   EXTRACT(EPOCH FROM now() - min(created_at))::float8
            FROM outbox WHERE sent_at IS NULL
            """)
        guard let row = rows.first else { return OutboxBacklog(staleUnsent: 0, oldestUnsentAge: nil) }
        let (stale, oldest) = try row.decode((Int, Double?).self)
        return OutboxBacklog(staleUnsent: stale, oldestUnsentAge: oldest.map { .milliseconds(Int64($0 * 1000)) })
    }

    public func pruneDelivered(olderThan age: Duration, fence: JanitorFence?) async throws -> (outbox: Int, inbox: Int) {
        let ms = age.milliseconds
        let logger = self.logger
        return try await fenced(fence) { connection in
            func count(_ query: PostgresQuery) async throws -> Int {
                try await connection.query(query, logger: logger).collect().first?.decode(Int.self) ?? 0
            }
            let outbox = try await count(
                "WITH gone AS (DELETE FROM outbox WHERE sent_at < now() - \(ms) * interval '1 millisecond' RETURNING 1) SELECT count(*) FROM gone")
            let inbox = try await count(
                "WITH gone AS (DELETE FROM processed_events WHERE processed_at < now() - \(ms) * interval '1 millisecond' RETURNING 1) SELECT count(*) FROM gone")
            // The job ledger's ended jobs and the dead letters already replayed or skipped, kept as long as the inbox.
            try await connection.query(
                "DELETE FROM processing_jobs WHERE NOT running AND heartbeat_at < now() - \(ms) * interval '1 millisecond'",
                logger: logger)
            try await connection.query(
                "DELETE FROM dead_letters WHERE resolved_at < now() - \(ms) * interval '1 millisecond'", logger: logger)
            return (outbox, inbox)
        }
    }

    public func pruneLiveStatus(eventsOlderThan eventAge: Duration, deliveriesOlderThan deliveryAge: Duration, fence: JanitorFence?)
        async throws -> (events: Int, deliveries: Int)
    {
        let logger = self.logger
        return try await fenced(fence) { connection in
            func count(_ query: PostgresQuery) async throws -> Int {
                try await connection.query(query, logger: logger).collect().first?.decode(Int.self) ?? 0
            }
            let deliveries = try await count(
                """
                WITH gone AS (
                    DELETE FROM webhook_deliveries WHERE status <> 'pending'
                      AND updated_at < now() - \(deliveryAge.milliseconds) * interval '1 millisecond' RETURNING 1)
                SELECT count(*) FROM gone
                """)
            let events = try await count(
                """
                WITH gone AS (
                    DELETE FROM media_events e WHERE created_at < now() - \(eventAge.milliseconds) * interval '1 millisecond'
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
                    RETURNING 1)
                SELECT count(*) FROM gone
                """)
            try await connection.query("DELETE FROM event_stream_tickets WHERE expires_at < now()", logger: logger)
            // Admin sessions that ended or expired a day ago: nothing can revive them, and the list of live ones stays short.
            try await connection.query(
                "DELETE FROM admin_sessions WHERE coalesce(ended_at, expires_at) < now() - interval '1 day'", logger: logger)
            return (events, deliveries)
        }
    }

    // MARK: janitor_runs

    public func startRun(task: String, dryRun: Bool, trigger: String, instance: String) async throws -> Int64 {
        guard let id = try await rows(
            """
            INSERT INTO janitor_runs (task, trigger, instance, dry_run, state)
            VALUES (\(task), \(trigger), \(instance), \(dryRun), 'running') RETURNING id
            """).first?.decode(Int64.self)
        else { throw PersistenceError.corruptRow("INSERT INTO janitor_runs returned no id") }
        return id
    }

    public func requestRun(task: String, dryRun: Bool, trigger: String) async throws -> Int64 {
        guard let id = try await rows(
            """
            INSERT INTO janitor_runs (task, trigger, instance, dry_run, state)
            VALUES (\(task), \(trigger), '', \(dryRun), 'requested') RETURNING id
            """).first?.decode(Int64.self)
        else { throw PersistenceError.corruptRow("INSERT INTO janitor_runs returned no id") }
        return id
    }

    public func claimRequestedRun(id: Int64, instance: String) async throws -> Bool {
        try await !rows(
            """
            UPDATE janitor_runs SET state = 'running', instance = \(instance), started_at = now()
            WHERE id = \(id) AND state = 'requested' RETURNING id
            """).isEmpty
    }

    public func finishRun(id: Int64, counts: [String: Int], error: String?) async throws {
        _ = try await rows(
            """
            UPDATE janitor_runs SET state = 'finished', finished_at = now(), counts = \(try Self.json(counts))::jsonb,
                   error = \(error)
            WHERE id = \(id)
            """)
    }

    public func janitorRun(id: Int64) async throws -> JanitorRun? {
        try await runs("SELECT \(unescaped: Self.runColumns) FROM janitor_runs WHERE id = \(id)").first
    }

    public func janitorRuns(task: String?, limit: Int) async throws -> [JanitorRun] {
        try await runs(
            """
            SELECT \(unescaped: Self.runColumns) FROM janitor_runs
            WHERE \(task)::text IS NULL OR task = \(task)
            ORDER BY started_at DESC, id DESC LIMIT \(limit)
            """)
    }

    private static let runColumns = "id, state, task, trigger, instance, dry_run, started_at, finished_at, counts::text, error"

    private func runs(_ query: PostgresQuery) async throws -> [JanitorRun] {
        try await rows(query).map { row in
            let (id, state, task, trigger, instance, dryRun, started, finished, countsText, error) =
                try row.decode((Int64, String, String, String, String, Bool, Date, Date?, String, String?).self)
            var counts: [String: Int64] = [:]
            if case .object(let values) = try JSONParser.parse(countsText) {
                for (key, value) in values { counts[key] = value.intValue ?? 0 }
            }
            return JanitorRun(id: id, state: state, task: task, trigger: trigger, instance: instance, dryRun: dryRun,
                              startedAt: started, finishedAt: finished, counts: counts, error: error)
        }
    }

    // MARK: replay and staff actions

    public func returnToProcessing(id: Int64, generation: Int) async throws -> Media? {
        let logger = self.logger
        return try await client.transaction(logger: logger) { connection in
            guard let failed = try await one(
                """
                SELECT \(unescaped: Self.columns) FROM media
                WHERE id = \(id) AND generation = \(generation) AND status = 'failed' FOR UPDATE
                """, on: connection)
            else { return nil }
            try await connection.query(
                """
                UPDATE media SET status = 'processing', metadata = metadata - 'error' - 'progress',
                       stuck_republishes = 0, updated_at = now()
                WHERE id = \(id)
                """, logger: logger)
            return failed
        }
    }

    public func restoreFailed(_ media: Media) async throws -> Bool {
        try await !rows(
            """
            UPDATE media SET status = 'failed', metadata = \(try Self.json(media.metadata))::jsonb, updated_at = now()
            WHERE id = \(media.id) AND generation = \(media.generation) AND status = 'processing'
            RETURNING id
            """).isEmpty
    }

    public func failedMediaIds(code: String?, type: FileType?, since: Date?, limit: Int) async throws -> [Int64] {
        let type = type?.rawValue
        return try await rows(
            """
            SELECT id FROM media WHERE status = 'failed'
              AND (\(code)::text IS NULL OR metadata -> 'error' ->> 'code' = \(code))
              AND (\(type)::text IS NULL OR file_type = \(type))
              AND (\(since)::timestamptz IS NULL OR updated_at >= \(since))
            ORDER BY updated_at, id LIMIT \(limit)
            """
        ).map { try $0.decode(Int64.self) }
    }

    public func reprocess(id: Int64) async throws -> ReprocessResult { try await reprocess(id: id, owner: nil) }

    public func restart(id: Int64, kind: RestartKind) async throws -> ReprocessResult {
        try await restart(id: id, owner: nil, kind: kind)
    }

    public func delete(id: Int64) async throws -> Media? {
        try fetchAll(try await rows("DELETE FROM media WHERE id = \(id) RETURNING \(unescaped: Self.columns)")).first
    }

    public func setPublic(id: Int64, isPublic: Bool) async throws -> Media? {
        try fetchAll(try await rows(
            """
            UPDATE media SET is_public = \(isPublic), updated_at = now() WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """)).first
    }

    // MARK: admin console

    public func staffMedia(_ query: StaffMediaQuery) async throws -> (count: Int, items: [Media]) {
        let type = query.fileType?.rawValue
        let status = query.status?.rawValue
        // ILIKE with the user's text matched literally; the trigram indexes (migration 6) serve it.
        let pattern = query.search.map { text in
            "%" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"
        }
        // The filters once, between a head and a tail (PostgresQuery binds cannot be concatenated). A null parameter
        // drops its condition; the statement is planned with the values bound, so the indexes that fit are used.
        func filtered(_ head: String, _ tail: String) -> PostgresQuery {
            """
            \(unescaped: head)
              (\(type)::text IS NULL OR file_type = \(type)) AND (\(status)::text IS NULL OR status = \(status))
              AND (\(query.userId)::bigint IS NULL OR user_id = \(query.userId))
              AND (\(query.createdAfter)::timestamptz IS NULL OR created_at >= \(query.createdAfter))
              AND (\(query.createdBefore)::timestamptz IS NULL OR created_at < \(query.createdBefore))
              AND (\(pattern)::text IS NULL OR original_filename ILIKE \(pattern) OR username ILIKE \(pattern))
            \(unescaped: tail)
            """
        }
        var count = 0
        if query.isCountable {
            // Type, status and owner only: the counter rows the trigger keeps answer without touching media.
            for row in try await rows(
                """
                SELECT COALESCE(sum(count), 0)::bigint FROM media_counts
                WHERE (\(type)::text IS NULL OR file_type = \(type)) AND (\(status)::text IS NULL OR status = \(status))
                  AND (\(query.userId)::bigint IS NULL OR user_id = \(query.userId))
                """)
            {
                count = Int(try row.decode(Int64.self))
            }
        } else {
            for row in try await rows(filtered("SELECT count(*) FROM media WHERE", "")) {
                count = Int(try row.decode(Int64.self))
            }
        }
        guard count > query.offset else { return (count, []) }
        // The page's ids first (from an index where one fits), then those rows only.
        let items = try fetchAll(try await rows(filtered(
            "SELECT \(Self.qualifiedColumns) FROM media m JOIN (SELECT id FROM media WHERE",
            """
            ORDER BY created_at DESC, id DESC LIMIT \(query.limit) OFFSET \(query.offset)
            ) page ON page.id = m.id ORDER BY m.created_at DESC, m.id DESC
            """)))
        return (count, items)
    }

    public func staffStats(days: Int) async throws -> StaffStats {
        var byTypeAndStatus: [FileType: [MediaStatus: Int64]] = [:]
        var totalSize: Int64 = 0
        for row in try await rows(
            "SELECT file_type, status, sum(count)::bigint, sum(total_size)::bigint FROM media_counts GROUP BY 1, 2")
        {
            let (type, status, count, bytes) = try row.decode((String, String, Int64, Int64).self)
            totalSize += bytes
            guard let t = FileType(rawValue: type), let s = MediaStatus(rawValue: status), count > 0 else { continue }
            byTypeAndStatus[t, default: [:]][s, default: 0] += count
        }
        var perDay: [String: Int64] = [:]
        for row in try await rows(
            """
            SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) FROM media
            WHERE created_at >= (date_trunc('day', now() AT TIME ZONE 'UTC') - (\(days - 1) * interval '1 day')) AT TIME ZONE 'UTC'
            GROUP BY 1
            """)
        {
            let (day, n) = try row.decode((String, Int64).self)
            perDay[day] = n
        }
        var processing: [FileType: StaffStats.ProcessingTime] = [:]
        for row in try await rows(
            """
            SELECT file_type,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY ms),
                   count(*)
            FROM (SELECT file_type, (metadata ->> 'processing_ms')::float8 AS ms FROM media
                  WHERE status = 'ready' AND metadata ? 'processing_ms'
                    AND created_at >= now() - (\(days) * interval '1 day')) ready
            GROUP BY file_type
            """)
        {
            let (type, p50, p95, n) = try row.decode((String, Double, Double, Int64).self)
            if let t = FileType(rawValue: type) { processing[t] = .init(p50Ms: p50, p95Ms: p95, samples: n) }
        }
        return StaffStats(byTypeAndStatus: byTypeAndStatus, totalSize: totalSize,
                          uploadsPerDay: StaffStats.days(days, counts: perDay), processing: processing)
    }
}
