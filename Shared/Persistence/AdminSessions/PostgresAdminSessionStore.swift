import Foundation
import Logging
import PostgresNIO

/// `AdminSessionStore` on the `admin_sessions` table (migration 14). Every admin request reads its session here (one
/// indexed lookup): no Gateway keeps a copy that could outlive a logout elsewhere.
public struct PostgresAdminSessionStore: AdminSessionStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = "id, user_id, username, is_staff, csrf_token, created_at, expires_at"

    private func records(_ query: PostgresQuery) async throws -> [AdminSessionRecord] {
        var result: [AdminSessionRecord] = []
        for try await (id, user, name, staff, csrf, created, expires) in try await client.query(query, logger: logger)
            .decode((Int64, Int64, String, Bool, String, Date, Date).self)
        {
            result.append(AdminSessionRecord(
                id: id, userId: user, username: name, isStaff: staff, csrfToken: csrf, createdAt: created, expiresAt: expires))
        }
        return result
    }

    public func create(secretHash: String, userId: Int64, username: String, isStaff: Bool, csrfToken: String,
                       expiresAt: Date) async throws -> AdminSessionRecord {
        guard let record = try await records(
            """
            INSERT INTO admin_sessions (secret_hash, user_id, username, is_staff, csrf_token, expires_at)
            VALUES (\(secretHash), \(userId), \(username), \(isStaff), \(csrfToken), \(expiresAt))
            RETURNING \(unescaped: Self.columns)
            """).first
        else { throw PersistenceError.corruptRow("INSERT INTO admin_sessions returned no row") }
        return record
    }

    public func find(secretHash: String) async throws -> AdminSessionRecord? {
        try await records(
            """
            SELECT \(unescaped: Self.columns) FROM admin_sessions
            WHERE secret_hash = \(secretHash) AND ended_at IS NULL AND expires_at > now()
            """).first
    }

    public func end(secretHash: String, by: String) async throws -> Bool {
        try await !records(
            """
            UPDATE admin_sessions SET ended_at = now(), ended_by = \(by)
            WHERE secret_hash = \(secretHash) AND ended_at IS NULL RETURNING \(unescaped: Self.columns)
            """).isEmpty
    }

    public func revoke(id: Int64, by: String) async throws -> Bool {
        try await !records(
            """
            UPDATE admin_sessions SET ended_at = now(), ended_by = \(by)
            WHERE id = \(id) AND ended_at IS NULL AND expires_at > now() RETURNING \(unescaped: Self.columns)
            """).isEmpty
    }

    public func live(limit: Int) async throws -> [AdminSessionRecord] {
        try await records(
            """
            SELECT \(unescaped: Self.columns) FROM admin_sessions
            WHERE ended_at IS NULL AND expires_at > now() ORDER BY id DESC LIMIT \(limit)
            """)
    }

    public func prune(olderThan age: Duration) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(
            """
            DELETE FROM admin_sessions
            WHERE coalesce(ended_at, expires_at) < now() - \(age.components.seconds) * interval '1 second' RETURNING id
            """, logger: logger)
        {
            count += 1
        }
        return count
    }
}
