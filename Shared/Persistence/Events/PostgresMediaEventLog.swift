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

    private static let columns = "id, position, user_id, media_id, type, percent, created_at"

    /// The events a query selects, each with the media it tells about (rebuilt from the event's snapshot of the row by
    /// `jsonb_populate_record`): one more query per batch, not one per event.
    private func records(_ query: PostgresQuery) async throws -> [MediaEventRecord] {
        var records: [MediaEventRecord] = []
        for try await row in try await client.query(query, logger: logger) {
            let (id, position, user, media, type, percent, created) = try row.decode(
                (Int64, Int64, Int64, Int64, String, Double?, Date).self)
            records.append(MediaEventRecord(
                id: id, position: position, userId: user, mediaId: media, type: type, percent: percent, media: nil,
                createdAt: created))
        }
        let withRows = records.filter { $0.type != MediaEvents.progress }.map(\.id)
        guard !withRows.isEmpty else { return records }
        var snapshots: [Int64: Media] = [:]
        for try await row in try await client.query(
            """
            SELECT e.id, \(unescaped: PostgresMediaRepository.qualifiedColumns)
            FROM media_events e, jsonb_populate_record(NULL::media, e.snapshot) m
            WHERE e.id = ANY(\(withRows)) AND e.snapshot IS NOT NULL
            """, logger: logger)
        {
            let d = try row.decode((
                Int64, Int64, Int64, String, String, String, Int64, String, String, String, String,
                String, Int?, Int?, Double?, Int64?, String, Bool, Int, Date, Date, String?).self)
            snapshots[d.0] = try PostgresMediaRepository.media((
                d.1, d.2, d.3, d.4, d.5, d.6, d.7, d.8, d.9, d.10, d.11, d.12, d.13, d.14, d.15, d.16, d.17, d.18, d.19, d.20,
                d.21))
        }
        for i in records.indices { records[i].media = snapshots[records[i].id] }
        return records
    }


    public func events(userId: Int64, after position: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord] {
        try await records(
            """
            SELECT \(unescaped: Self.columns) FROM media_events
            WHERE user_id = \(userId) AND position > \(position)
              AND created_at > now() - \(maxAge.components.seconds) * interval '1 second'
            ORDER BY position LIMIT \(limit)
            """)
    }

    public func events(after position: Int64, limit: Int) async throws -> [MediaEventRecord] {
        try await records(
            "SELECT \(unescaped: Self.columns) FROM media_events WHERE position > \(position) ORDER BY position LIMIT \(limit)")
    }

    public func events(positions: [Int64]) async throws -> [MediaEventRecord] {
        guard !positions.isEmpty else { return [] }
        return try await records(
            "SELECT \(unescaped: Self.columns) FROM media_events WHERE position = ANY(\(positions)) ORDER BY position")
    }

    public func events(ids: [Int64]) async throws -> [MediaEventRecord] {
        guard !ids.isEmpty else { return [] }
        // A committed event always has its position (the trigger gives it before the commit ends).
        return try await records(
            "SELECT \(unescaped: Self.columns) FROM media_events WHERE id = ANY(\(ids)) AND position IS NOT NULL ORDER BY id")
    }

    public func latestPosition() async throws -> Int64 {
        for try await id in try await client.query("SELECT coalesce(max(position), 0) FROM media_events", logger: logger)
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
