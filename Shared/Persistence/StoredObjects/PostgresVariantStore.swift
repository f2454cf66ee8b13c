import Foundation
import Logging
import PostgresNIO

/// `VariantStore` on the `stored_objects` ledger (migration 19).
public struct PostgresVariantStore: VariantStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.guardedRows(query, logger: logger)
    }

    public func recordVariant(key: String, mediaId: Int64, generation: Int, bytes: Int64) async throws {
        _ = try await rows(
            """
            INSERT INTO stored_objects AS o (key, media_id, user_id, kind, bytes, last_fetched_at)
            SELECT \(key), m.id, m.user_id, 'variant', \(bytes), now() FROM media m
            WHERE m.id = \(mediaId) AND m.generation = \(generation)
            ON CONFLICT (key) DO UPDATE SET bytes = EXCLUDED.bytes, last_fetched_at = now()
            """)
    }

    public func markFetched(keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        _ = try await rows(
            "UPDATE stored_objects SET last_fetched_at = now() WHERE key = ANY(\(keys)) AND kind = 'variant'")
    }

    public func expiredVariants(olderThan age: Duration, limit: Int) async throws -> [String] {
        try await rows(
            """
            SELECT key FROM stored_objects
            WHERE kind = 'variant'
              AND COALESCE(last_fetched_at, created_at) < now() - \(age.components.seconds) * interval '1 second'
            ORDER BY COALESCE(last_fetched_at, created_at) LIMIT \(limit)
            """).map { try $0.decode(String.self) }
    }

    public func forgetVariant(key: String, olderThan age: Duration) async throws -> Bool {
        try await !rows(
            """
            DELETE FROM stored_objects
            WHERE key = \(key) AND kind = 'variant'
              AND COALESCE(last_fetched_at, created_at) < now() - \(age.components.seconds) * interval '1 second'
            RETURNING key
            """).isEmpty
    }
}
