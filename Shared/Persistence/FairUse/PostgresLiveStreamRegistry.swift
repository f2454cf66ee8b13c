import Foundation
import Logging
import PostgresNIO

/// `LiveStreamRegistry` on `live_streams` (migration 18). Opening is a short transaction under an advisory lock on the
/// user's id, so two Gateways opening a user's 10th and 11th stream at once count each other.
public struct PostgresLiveStreamRegistry: LiveStreamRegistry {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The first key of the advisory lock that serialises one user's stream openings.
    private static let lockClass: Int32 = 0x5353_4500   // "SSE\0"

    public func open(userId: Int64, gateway: String, limit: Int, staleAfter: Duration) async throws -> UUID? {
        let logger = self.logger
        let stale = staleAfter.components.seconds
        return try await client.transaction(logger: logger) { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(Self.lockClass), (\(userId)::int8 % 2147483647)::int4)", logger: logger)
            try await connection.query(
                """
                DELETE FROM live_streams
                WHERE user_id = \(userId) AND heartbeat_at < now() - \(stale) * interval '1 second'
                """, logger: logger)
            var open = 0
            for try await n in try await connection.query(
                "SELECT count(*)::int8 FROM live_streams WHERE user_id = \(userId)", logger: logger).decode(Int64.self)
            {
                open = Int(n)
            }
            guard open < limit else { return nil }
            let id = UUID()
            try await connection.query(
                "INSERT INTO live_streams (id, user_id, gateway) VALUES (\(id), \(userId), \(gateway))", logger: logger)
            return id
        }
    }

    public func close(_ id: UUID) async throws {
        _ = try await client.guardedRows("DELETE FROM live_streams WHERE id = \(id)", logger: logger)
    }

    public func heartbeat(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await client.guardedRows(
            "UPDATE live_streams SET heartbeat_at = now() WHERE id = ANY(\(ids))", logger: logger)
    }
}
