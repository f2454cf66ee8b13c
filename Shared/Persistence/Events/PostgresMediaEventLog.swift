import Foundation
import Logging
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

    private static let columns = "id, user_id, media_id, type, percent, snapshot::text, created_at"

    private func records(_ query: PostgresQuery) async throws -> [MediaEventRecord] {
        var records: [MediaEventRecord] = []
        for try await row in try await client.query(query, logger: logger) {
            let (id, user, media, type, percent, snapshot, created) =
                try row.decode((Int64, Int64, Int64, String, Double?, String?, Date).self)
            records.append(MediaEventRecord(
                id: id, userId: user, mediaId: media, type: type, percent: percent, snapshot: snapshot, createdAt: created))
        }
        return records
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
