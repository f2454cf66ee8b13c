import Foundation
import Logging
import MediaDomain
import PostgresNIO

/// `MediaRepository`, `OutboxStore` and `InboxStore` on PostgreSQL. All SQL goes through `PostgresQuery`
/// interpolation, so every value is a bound parameter.
public struct PostgresMediaRepository: MediaRepository, OutboxStore, InboxStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, user_id, username, file_type, status, file_size, mime_type, format, original_filename, storage_key,
        renditions::text, width, height, duration, bitrate, metadata::text, is_public, generation, created_at, updated_at,
        sha256
        """

    /// `columns` of the table aliased `m`.
    static let qualifiedColumns = columns.split(separator: ",")
        .map { "m." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    typealias Row = (
        Int64, Int64, String, String, String, Int64, String, String, String, String,
        String, Int?, Int?, Double?, Int64?, String, Bool, Int, Date, Date, String?
    )

    static func media(_ r: Row) throws -> Media {
        guard let fileType = FileType(rawValue: r.3), let status = MediaStatus(rawValue: r.4),
              let format = MediaFormat(rawValue: r.7)
        else { throw PersistenceError.corruptRow("media \(r.0) has type \(r.3), status \(r.4), format \(r.7)") }
        // JSONParser rather than JSONDecoder: every API read decodes these two columns (see JSONParser).
        guard case .object(let renditionValues) = try JSONParser.parse(r.10),
              case .object(let metadata) = try JSONParser.parse(r.15)
        else { throw PersistenceError.corruptRow("media \(r.0) has renditions or metadata that are not objects") }
        var renditions: [String: RenditionInfo] = [:]
        for (name, value) in renditionValues {
            guard let info = RenditionInfo(json: value) else {
                throw PersistenceError.corruptRow("media \(r.0) has a malformed rendition \(name)")
            }
            renditions[name] = info
        }
        return Media(
            id: r.0, userId: r.1, username: r.2, fileType: fileType, status: status, fileSize: r.5, mimeType: r.6,
            format: format, originalFilename: r.8, storageKey: r.9, renditions: renditions,
            width: r.11, height: r.12, duration: r.13, bitrate: r.14, metadata: metadata,
            isPublic: r.16, generation: r.17, createdAt: r.18, updatedAt: r.19, sha256: r.20)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func fetchAll(_ rows: [PostgresRow]) throws -> [Media] {
        try rows.map { try Self.media($0.decode(Row.self)) }
    }

    /// A statement outside a transaction, guarded like a transaction's (see `GuardedConnection`).
    func rows(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> [PostgresRow] {
        try await client.guardedRows(query, logger: logger, file: file, line: line)
    }

    func one(_ query: PostgresQuery, on connection: GuardedConnection) async throws -> Media? {
        try fetchAll(try await connection.query(query, logger: logger).collect()).first
    }

    // MARK: MediaRepository

    public func create(_ new: NewMedia) async throws -> CreateMediaResult {
        do {
            return try await insert(new)
        } catch where DatabaseFailure.sqlState(error) == "23505" && new.idempotencyKey != nil {
            // Two uploads with the same key raced; the other one won, and it is the answer.
            if let key = new.idempotencyKey, let existing = try await find(userId: new.userId, idempotencyKey: key) {
                return .existing(existing)
            }
            throw error
        }
    }

    public func find(userId: Int64, idempotencyKey key: String) async throws -> Media? {
        try fetchAll(try await rows(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE user_id = \(userId) AND idempotency_key = \(key) AND created_at > now() - interval '24 hours'
            """)).first
    }

    private func insert(_ new: NewMedia) async throws -> CreateMediaResult {
        let logger = self.logger
        return try await client.transaction(logger: logger) { connection in
            if let key = new.idempotencyKey {
                if let existing = try await one(
                    """
                    SELECT \(unescaped: Self.columns) FROM media
                    WHERE user_id = \(new.userId) AND idempotency_key = \(key)
                      AND created_at > now() - interval '24 hours'
                    """, on: connection)
                {
                    return .existing(existing)
                }
                // A key older than 24 hours is free again. Only an old row's key is cleared: a concurrent upload's
                // row, committed since the SELECT above, keeps its key, so this INSERT collides with it (23505) and
                // `create` answers with that row.
                try await connection.query(
                    """
                    UPDATE media SET idempotency_key = NULL
                    WHERE user_id = \(new.userId) AND idempotency_key = \(key)
                      AND created_at <= now() - interval '24 hours'
                    """,
                    logger: logger)
            }
            if let media = try await insertDuplicate(new, on: connection) { return .created(media) }
            guard let media = try await one(
                """
                INSERT INTO media (user_id, username, file_type, status, file_size, mime_type, format,
                                   original_filename, storage_key, is_public, idempotency_key, sha256)
                VALUES (\(new.userId), \(new.username), \(new.format.fileType.rawValue), 'processing', \(new.fileSize),
                        \(new.format.mimeType), \(new.format.rawValue), \(new.originalFilename), \(new.storageKey),
                        \(new.isPublic), \(new.idempotencyKey), \(new.sha256))
                RETURNING \(unescaped: Self.columns)
                """, on: connection)
            else { throw PersistenceError.corruptRow("INSERT returned no row") }
            var entry = try OutboxEntry.uploaded(media.uploadedEvent())
            entry.traceparent = new.traceparent
            try await Self.enqueue(entry, on: connection, logger: logger)
            return .created(media)
        }
    }

    /// The new media as a duplicate of one of the user's media with the same content (SPEC §13), recording its files
    /// and standing where it stands, with no job of its own; nil when there is none to share with. The source is
    /// locked (`FOR SHARE`) until this commits: a deletion of it waits, then finds the new media using the folder and
    /// keeps the files. The upload's own original is surplus (the caller removes it) and its quota reservation,
    /// named after the folder it wrote to, is given back here: the row counts the shared files instead.
    private func insertDuplicate(_ new: NewMedia, on connection: GuardedConnection) async throws -> Media? {
        guard let sha256 = new.sha256 else { return nil }
        guard let source = try await one(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE user_id = \(new.userId) AND sha256 = \(sha256) AND status IN ('ready', 'processing')
            ORDER BY status = 'ready' DESC, id LIMIT 1 FOR SHARE
            """, on: connection)
        else { return nil }
        let media = try await one(
            """
            INSERT INTO media (user_id, username, file_type, status, file_size, mime_type, format, original_filename,
                               storage_key, is_public, idempotency_key, sha256, renditions, width, height, duration,
                               bitrate, metadata, generation)
            VALUES (\(new.userId), \(new.username), \(source.fileType.rawValue), \(source.status.rawValue),
                    \(source.fileSize), \(source.mimeType), \(source.format.rawValue), \(new.originalFilename),
                    \(source.storageKey), \(new.isPublic), \(new.idempotencyKey), \(sha256),
                    \(try Self.json(source.renditions))::jsonb, \(source.width), \(source.height), \(source.duration),
                    \(source.bitrate), \(try Self.json(Duplicates.followerMetadata(of: source)))::jsonb,
                    \(source.generation))
            RETURNING \(unescaped: Self.columns)
            """, on: connection)
        if let folder = StorageKeys.mediaFolderName(of: new.storageKey).flatMap(UUID.init(uuidString:)) {
            try await connection.query(
                """
                WITH r AS (DELETE FROM quota_reservations WHERE id = \(folder) RETURNING user_id, bytes)
                UPDATE user_quotas q SET reserved_bytes = GREATEST(0, q.reserved_bytes - r.bytes)
                FROM r WHERE q.user_id = r.user_id
                """, logger: logger)
        }
        return media
    }

    static func enqueue(_ entry: OutboxEntry, on connection: GuardedConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO outbox (event_id, exchange, routing_key, event_type, body, traceparent)
            VALUES (\(entry.eventId), \(entry.exchange), \(entry.routingKey), \(entry.eventType), \(ByteBuffer(bytes: entry.body)),
                    \(entry.traceparent))
            """, logger: logger)
    }

    public func find(id: Int64) async throws -> Media? {
        try fetchAll(try await rows(
            "SELECT \(unescaped: Self.columns) FROM media WHERE id = \(id)")).first
    }

    public func find(storagePrefix prefix: String) async throws -> Media? {
        try fetchAll(try await rows(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE storage_key LIKE \(prefix.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "\\_") + "%")
            ORDER BY is_public DESC LIMIT 1
            """)).first
    }

    public func isFolderInUse(_ folderName: String) async throws -> Bool {
        try await !rows("SELECT 1 FROM media WHERE split_part(storage_key, '/', 2) = \(folderName) LIMIT 1").isEmpty
    }

    public func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media]) {
        let type = query.fileType?.rawValue
        let status = query.status?.rawValue
        // The count from the user's counter rows (a dozen at most), not from counting the user's media.
        var count = 0
        for row in try await rows(
            """
            SELECT COALESCE(sum(count), 0)::bigint FROM media_counts WHERE user_id = \(query.userId)
              AND (\(type)::text IS NULL OR file_type = \(type)) AND (\(status)::text IS NULL OR status = \(status))
            """)
        {
            count = Int(try row.decode(Int64.self))
        }
        guard count > query.offset else { return (count, []) }
        // The page's ids from the index alone (OFFSET skips index entries, not whole rows), then those rows only.
        let items = try fetchAll(try await rows(
            """
            SELECT \(unescaped: Self.qualifiedColumns) FROM media m JOIN (
                SELECT id FROM media WHERE user_id = \(query.userId)
                  AND (\(type)::text IS NULL OR file_type = \(type)) AND (\(status)::text IS NULL OR status = \(status))
                ORDER BY created_at DESC, id DESC LIMIT \(query.limit) OFFSET \(query.offset)
            ) page ON page.id = m.id
            ORDER BY m.created_at DESC, m.id DESC
            """))
        return (count, items)
    }

    public func stats(userId: Int64) async throws -> MediaStats {
        var byType: [FileType: Int64] = [:]
        var byStatus: [MediaStatus: Int64] = [:]
        var total: Int64 = 0
        var size: Int64 = 0
        for row in try await rows(
            "SELECT file_type, status, count, total_size FROM media_counts WHERE user_id = \(userId)")
        {
            let (type, status, count, bytes) = try row.decode((String, String, Int64, Int64).self)
            if let t = FileType(rawValue: type) { byType[t, default: 0] += count }
            if let s = MediaStatus(rawValue: status) { byStatus[s, default: 0] += count }
            total += count
            size += bytes
        }
        return MediaStats(total: total, byType: byType, byStatus: byStatus, totalSize: size)
    }

    public func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media? {
        try fetchAll(try await rows(
            """
            UPDATE media SET is_public = \(isPublic), updated_at = now() WHERE id = \(id) AND user_id = \(userId)
            RETURNING \(unescaped: Self.columns)
            """)).first
    }

    public func delete(id: Int64, userId: Int64) async throws -> Media? {
        try fetchAll(try await rows(
            "DELETE FROM media WHERE id = \(id) AND user_id = \(userId) RETURNING \(unescaped: Self.columns)")).first
    }

    public func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult {
        try await reprocess(id: id, owner: userId)
    }

    /// A new generation of a failed media (of `owner` when given, else of anyone) and its `media.uploaded`.
    func reprocess(id: Int64, owner: Int64?) async throws -> ReprocessResult {
        try await restart(id: id, owner: owner, kind: .reprocess)
    }

    /// A new generation and its `media.uploaded`, if the media stands where `kind` starts from (SPEC §7, §13).
    func restart(id: Int64, owner: Int64?, kind: RestartKind) async throws -> ReprocessResult {
        let logger = self.logger
        return try await client.transaction(logger: logger) { connection in
            guard let current = try await one(
                """
                SELECT \(unescaped: Self.columns) FROM media
                WHERE id = \(id) AND (\(owner)::bigint IS NULL OR user_id = \(owner)) FOR UPDATE
                """,
                on: connection)
            else { return .notFound }
            guard kind.startsFrom(current) else { return .notFailed(current) }
            var metadata = current.metadata
            // A release holds for the media's later reprocesses; a rescan is a scan, whatever was released before.
            if kind == .release { metadata[Quarantine.releasedKey] = .bool(true) }
            if kind == .rescan { metadata.removeValue(forKey: Quarantine.releasedKey) }
            metadata.removeValue(forKey: "error")
            metadata.removeValue(forKey: "progress")
            // A duplicate's new renditions are its own (a generation past every one its folder holds): it shares the
            // original only.
            metadata.removeValue(forKey: Duplicates.metadataKey)
            guard let media = try await one(
                """
                UPDATE media SET status = 'processing', renditions = '{}',
                       generation = (SELECT max(f.generation) FROM media f
                                     WHERE split_part(f.storage_key, '/', 2) = split_part(media.storage_key, '/', 2)) + 1,
                       metadata = \(try Self.json(metadata))::jsonb, stuck_republishes = 0, updated_at = now()
                WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                """, on: connection)
            else { return .notFound }
            try await Self.enqueue(.uploaded(media.uploadedEvent()), on: connection, logger: logger)
            return .started(media)
        }
    }

    public func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult {
        let logger = self.logger
        return try await client.transaction(logger: logger) { connection in
            var inserted = false
            for try await _ in try await connection.query(
                """
                INSERT INTO processed_events (consumer, event_id) VALUES (\(consumer), \(outcome.eventId))
                ON CONFLICT DO NOTHING RETURNING event_id
                """, logger: logger)
            {
                inserted = true
            }
            guard inserted else { return .duplicate }
            guard let current = try await one(
                "SELECT \(unescaped: Self.columns) FROM media WHERE id = \(outcome.mediaId) FOR UPDATE", on: connection)
            else {
                // A deleted media's job still decides the duplicates that were waiting on it.
                return try await foldFollowers(of: outcome, on: connection) > 0 ? .applied : .ignored
            }
            switch outcome {
            case .ready(let event):
                guard event.generation == current.generation else { return .ignored }
                try await connection.query(
                    """
                    UPDATE media SET status = 'ready', renditions = \(try Self.json(event.renditions))::jsonb,
                           width = \(event.width), height = \(event.height), duration = \(event.duration),
                           bitrate = \(event.bitrate),
                           metadata = \(try Self.json(MetadataFolding.ready(current.metadata, event)))::jsonb,
                           updated_at = now()
                    WHERE id = \(current.id)
                    """, logger: logger)
            case .failed(let event):
                // A failure never overrides a finished generation: a late duplicate must not undo `ready`.
                guard event.generation == current.generation, current.status == .processing else { return .ignored }
                try await connection.query(
                    """
                    UPDATE media SET status = 'failed',
                           metadata = \(try Self.json(MetadataFolding.failed(current.metadata, event)))::jsonb,
                           updated_at = now()
                    WHERE id = \(current.id)
                    """, logger: logger)
            case .progress(let event):
                guard event.generation == current.generation, current.status == .processing else { return .ignored }
                var metadata = current.metadata
                metadata["progress"] = .double(event.percent)
                try await connection.query(
                    """
                    UPDATE media SET metadata = \(try Self.json(metadata))::jsonb, updated_at = now()
                    WHERE id = \(current.id)
                    """, logger: logger)
                return .applied
            }
            try await foldFollowers(of: outcome, on: connection)
            return .applied
        }
    }

    /// Gives the duplicates waiting on a media (SPEC §13) the outcome just folded into it: its renditions and
    /// metadata, or its error. Each follower row changes like any (its events and webhooks go out by the same
    /// triggers). Returns how many changed.
    @discardableResult
    private func foldFollowers(of outcome: MediaOutcome, on connection: GuardedConnection) async throws -> Int {
        let leaderId = outcome.mediaId
        let followers = try fetchAll(try await connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM media
            WHERE (metadata->>'duplicate_of')::bigint = \(leaderId) AND status = 'processing' AND metadata ? 'duplicate_of'
            FOR UPDATE
            """, logger: logger).collect())
        var changed = 0
        for follower in followers {
            switch outcome {
            case .ready(let event):
                guard event.generation == follower.generation else { continue }
                let metadata = Duplicates.followerMetadata(
                    leader: MetadataFolding.ready(follower.metadata, event), follower: follower.metadata)
                try await connection.query(
                    """
                    UPDATE media SET status = 'ready', renditions = \(try Self.json(event.renditions))::jsonb,
                           width = \(event.width), height = \(event.height), duration = \(event.duration),
                           bitrate = \(event.bitrate), metadata = \(try Self.json(metadata))::jsonb, updated_at = now()
                    WHERE id = \(follower.id)
                    """, logger: logger)
            case .failed(let event):
                guard event.generation == follower.generation else { continue }
                try await connection.query(
                    """
                    UPDATE media SET status = 'failed',
                           metadata = \(try Self.json(MetadataFolding.failed(follower.metadata, event)))::jsonb,
                           updated_at = now()
                    WHERE id = \(follower.id)
                    """, logger: logger)
            case .progress: continue
            }
            changed += 1
        }
        return changed
    }

    // MARK: OutboxStore

    public func claimOutbox(limit: Int, lease: Duration) async throws -> [OutboxEntry] {
        // One statement (`Lease`): the row locks of SKIP LOCKED last only while it runs, then the lease keeps others off.
        return try await rows(
            """
            UPDATE outbox SET claimed_until = \(unescaped: Lease.until(lease)), attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM outbox
                WHERE sent_at IS NULL AND \(unescaped: Lease.isFree)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, event_id, exchange, routing_key, event_type, body, traceparent
            """
        ).map { row in
            let (id, eventId, exchange, key, type, body, traceparent) =
                try row.decode((Int64, UUID, String, String, String, ByteBuffer, String?).self)
            return OutboxEntry(
                id: id, eventId: eventId, exchange: exchange, routingKey: key, eventType: type, body: Array(buffer: body),
                traceparent: traceparent)
        }.sorted { $0.id < $1.id }
    }

    public func markSent(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await rows("UPDATE outbox SET sent_at = now(), \(unescaped: Lease.released), last_error = NULL WHERE id = ANY(\(ids))")
    }

    public func releaseClaims(_ ids: [Int64], error: String) async throws {
        guard !ids.isEmpty else { return }
        _ = try await rows(
            "UPDATE outbox SET \(unescaped: Lease.released), last_error = \(error) WHERE id = ANY(\(ids)) AND sent_at IS NULL")
    }

    public func pendingCount() async throws -> Int {
        try await rows("SELECT count(*) FROM outbox WHERE sent_at IS NULL").first?.decode(Int.self) ?? 0
    }

    // MARK: InboxStore

    public func contains(consumer: String, eventId: UUID) async throws -> Bool {
        try await !rows("SELECT 1 FROM processed_events WHERE consumer = \(consumer) AND event_id = \(eventId)").isEmpty
    }

    @discardableResult
    public func record(consumer: String, eventId: UUID) async throws -> Bool {
        try await !rows(
            """
            INSERT INTO processed_events (consumer, event_id) VALUES (\(consumer), \(eventId))
            ON CONFLICT DO NOTHING RETURNING event_id
            """).isEmpty
    }

    /// A round trip to the database, for readiness checks.
    public func ping() async throws {
        _ = try await rows("SELECT 1")
    }
}

/// What went wrong below the repository seam.
public struct PersistenceError: Error, CustomStringConvertible {
    private enum Code { case corruptRow }
    private let code: Code
    public let message: String

    public static func corruptRow(_ message: String) -> PersistenceError { .init(code: .corruptRow, message: message) }

    public var description: String { "database: \(message)" }
}
