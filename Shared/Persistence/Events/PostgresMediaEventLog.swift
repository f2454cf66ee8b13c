import Foundation
import Logging
import MediaDomain
import PostgresNIO

/// `MediaEventLog` on the `media_events` table.
public struct PostgresMediaEventLog: MediaEventLog {
    /// The channel the trigger announces each event on.
    public static let channel = "media_events"
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = "id, user_id, media_id, type, percent, created_at"

    /// The events a query selects, each with the media it tells about: two more queries per batch, not one per event
    /// (the current rows of ready/failed media; the deleted rows rebuilt from their snapshots).
    private func records(_ query: PostgresQuery) async throws -> [MediaEventRecord] {
        var records: [MediaEventRecord] = []
        for try await row in try await client.query(query, logger: logger) {
            let (id, user, media, type, percent, created) = try row.decode((Int64, Int64, Int64, String, Double?, Date).self)
            records.append(MediaEventRecord(
                id: id, userId: user, mediaId: media, type: type, percent: percent, media: nil, createdAt: created))
        }
        let current = Set(records.filter { $0.type == "media.ready" || $0.type == "media.failed" }.map(\.mediaId))
        let deleted = records.filter { $0.type == "media.deleted" }.map(\.id)
        var rows: [Int64: Media] = [:]
        if !current.isEmpty {
            for media in try await media("""
                SELECT \(unescaped: PostgresMediaRepository.columns) FROM media WHERE id = ANY(\(Array(current)))
                """)
            {
                rows[media.id] = media
            }
        }
        var gone: [Int64: Media] = [:]
        if !deleted.isEmpty {
            for media in try await media("""
                SELECT \(unescaped: PostgresMediaRepository.qualifiedColumns)
                FROM media_events e, jsonb_populate_record(NULL::media, e.snapshot) m
                WHERE e.id = ANY(\(deleted))
                """)
            {
                gone[media.id] = media
            }
        }
        for i in records.indices {
            switch records[i].type {
            case "media.deleted": records[i].media = gone[records[i].mediaId]
            case "media.progress": break
            default: records[i].media = rows[records[i].mediaId]
            }
        }
        return records
    }

    private func media(_ query: PostgresQuery) async throws -> [Media] {
        var result: [Media] = []
        for try await row in try await client.query(query, logger: logger) {
            result.append(try PostgresMediaRepository.media(row.decode(PostgresMediaRepository.Row.self)))
        }
        return result
    }

    public func events(userId: Int64, after id: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord] {
        try await records(
            """
            SELECT \(unescaped: Self.columns) FROM media_events
            WHERE user_id = \(userId) AND id > \(id)
              AND created_at > now() - \(maxAge.components.seconds) * interval '1 second'
            ORDER BY id LIMIT \(limit)
            """)
    }

    public func events(after id: Int64, limit: Int) async throws -> [MediaEventRecord] {
        try await records("SELECT \(unescaped: Self.columns) FROM media_events WHERE id > \(id) ORDER BY id LIMIT \(limit)")
    }

    public func events(ids: [Int64]) async throws -> [MediaEventRecord] {
        guard !ids.isEmpty else { return [] }
        return try await records("SELECT \(unescaped: Self.columns) FROM media_events WHERE id = ANY(\(ids)) ORDER BY id")
    }

    public func latestEventId() async throws -> Int64 {
        for try await id in try await client.query("SELECT coalesce(max(id), 0) FROM media_events", logger: logger)
            .decode(Int64.self)
        {
            return id
        }
        return 0
    }

    public func pruneEvents(olderThan age: Duration) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(
            """
            DELETE FROM media_events WHERE created_at < now() - \(age.components.seconds) * interval '1 second'
            RETURNING id
            """, logger: logger)
        {
            count += 1
        }
        return count
    }
}
