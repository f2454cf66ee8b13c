import Foundation
import Logging
import PostgresNIO

/// `QuotaStore` on `user_quotas`, `quota_reservations` and the `stored_objects` ledger (migration 18).
///
/// A reservation is one statement: the conditional `UPDATE` of the user's counter row both checks and takes the
/// room under that row's lock (a second Gateway's `UPDATE` waits for it and then checks the new figures), and the
/// reservation row is written by the same statement. The lock lasts that statement, not the upload.
public struct PostgresQuotaStore: QuotaStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await client.guardedRows(query, logger: logger)
    }

    public func usage(userId: Int64, defaultLimit: Int64) async throws -> QuotaUsage {
        let found = try await rows(
            """
            SELECT q.limit_bytes, q.used_bytes,
                   (SELECT COALESCE(sum(bytes), 0)::int8 FROM quota_reservations r
                    WHERE r.user_id = q.user_id AND r.expires_at > now())
            FROM user_quotas q WHERE q.user_id = \(userId)
            """)
        guard let row = found.first else {
            return QuotaUsage(limitBytes: defaultLimit, customLimitBytes: nil, usedBytes: 0, reservedBytes: 0)
        }
        let (limit, used, reserved) = try row.decode((Int64?, Int64, Int64).self)
        return QuotaUsage(limitBytes: limit ?? defaultLimit, customLimitBytes: limit, usedBytes: used, reservedBytes: reserved)
    }

    public func setLimit(userId: Int64, limitBytes: Int64?) async throws {
        _ = try await rows(
            """
            INSERT INTO user_quotas (user_id, limit_bytes) VALUES (\(userId), \(limitBytes))
            ON CONFLICT (user_id) DO UPDATE SET limit_bytes = EXCLUDED.limit_bytes
            """)
    }

    public func reserve(id: UUID, userId: Int64, bytes: Int64, defaultLimit: Int64, expiresAt: Date) async throws -> QuotaReservation {
        var attempt = try await take(id: id, userId: userId, bytes: bytes, defaultLimit: defaultLimit, expiresAt: expiresAt)
        if attempt.reserved { return .reserved(id) }
        // Two reasons besides a full quota, each told by the same statement and fixed once: the user's first upload has
        // no counter row yet (made here, or by a concurrent first upload: either way it exists after this), or
        // reservations a dead Gateway left have lapsed (given back here).
        if attempt.usage == nil {
            _ = try await rows("INSERT INTO user_quotas (user_id) VALUES (\(userId)) ON CONFLICT DO NOTHING")
        } else if attempt.lapsed > 0 {
            _ = try await releaseExpired(userId: userId)
        } else if let usage = attempt.usage {
            return .refused(usage)
        }
        attempt = try await take(id: id, userId: userId, bytes: bytes, defaultLimit: defaultLimit, expiresAt: expiresAt)
        if attempt.reserved { return .reserved(id) }
        return .refused(attempt.usage ?? QuotaUsage(limitBytes: defaultLimit, customLimitBytes: nil, usedBytes: 0, reservedBytes: 0))
    }

    /// The reservation statement: whether it fit, and otherwise the figures it saw (nil: no counter row) and how many
    /// of the user's reservations have lapsed.
    private func take(id: UUID, userId: Int64, bytes: Int64, defaultLimit: Int64, expiresAt: Date) async throws
        -> (reserved: Bool, usage: QuotaUsage?, lapsed: Int)
    {
        // numeric: a `Content-Length` near 2^63 is compared, never added in int8 (which would overflow).
        let found = try await rows(
            """
            WITH q AS (
                UPDATE user_quotas SET reserved_bytes = reserved_bytes + \(bytes)
                WHERE user_id = \(userId)
                  AND used_bytes::numeric + reserved_bytes + \(bytes) <= COALESCE(limit_bytes, \(defaultLimit))
                RETURNING user_id),
            made AS (
                INSERT INTO quota_reservations (id, user_id, bytes, expires_at)
                SELECT \(id), user_id, \(bytes), \(expiresAt) FROM q
                RETURNING id)
            SELECT (SELECT count(*) FROM made)::int8, c.limit_bytes, c.used_bytes, c.reserved_bytes,
                   (SELECT count(*) FROM quota_reservations r WHERE r.user_id = \(userId) AND r.expires_at <= now())::int8
            FROM (SELECT 1) AS one LEFT JOIN user_quotas c ON c.user_id = \(userId)
            """)
        guard let row = found.first else { throw PersistenceError.corruptRow("the reservation statement returned no row") }
        let (made, limit, used, reserved, lapsed) = try row.decode((Int64, Int64?, Int64?, Int64?, Int64).self)
        guard made == 0 else { return (true, nil, 0) }
        guard let used, let reserved else { return (false, nil, Int(lapsed)) }
        return (false, QuotaUsage(limitBytes: limit ?? defaultLimit, customLimitBytes: limit, usedBytes: used,
                                  reservedBytes: reserved), Int(lapsed))
    }

    public func grow(_ reservation: UUID, userId: Int64, by bytes: Int64, defaultLimit: Int64) async throws -> Bool {
        let grown = try await rows(
            """
            WITH q AS (
                UPDATE user_quotas SET reserved_bytes = reserved_bytes + \(bytes)
                WHERE user_id = \(userId)
                  AND used_bytes::numeric + reserved_bytes + \(bytes) <= COALESCE(limit_bytes, \(defaultLimit))
                  AND EXISTS (SELECT 1 FROM quota_reservations WHERE id = \(reservation))
                RETURNING user_id)
            UPDATE quota_reservations r SET bytes = r.bytes + \(bytes) FROM q WHERE r.id = \(reservation)
            RETURNING r.id
            """)
        return !grown.isEmpty
    }

    public func release(_ reservation: UUID) async throws {
        _ = try await rows(
            """
            WITH r AS (DELETE FROM quota_reservations WHERE id = \(reservation) RETURNING user_id, bytes)
            UPDATE user_quotas q SET reserved_bytes = GREATEST(0, q.reserved_bytes - r.bytes)
            FROM r WHERE q.user_id = r.user_id
            """)
    }

    /// Nothing: the media row's insert gave the reservation back (`StoredObjectsTrigger`).
    public func settled(_ reservation: UUID) async throws {}

    public func releaseExpired() async throws -> Int {
        try await releaseExpired(userId: nil)
    }

    private func releaseExpired(userId: Int64?) async throws -> Int {
        let released = try await rows(
            """
            WITH r AS (
                DELETE FROM quota_reservations
                WHERE expires_at <= now() AND (\(userId)::int8 IS NULL OR user_id = \(userId))
                RETURNING user_id, bytes),
            s AS (SELECT user_id, sum(bytes)::int8 AS bytes, count(*)::int8 AS n FROM r GROUP BY user_id)
            UPDATE user_quotas q SET reserved_bytes = GREATEST(0, q.reserved_bytes - s.bytes)
            FROM s WHERE q.user_id = s.user_id
            RETURNING s.n
            """)
        return try released.reduce(0) { $0 + Int(try $1.decode(Int64.self)) }
    }

    public func ledgerBytes(keys: [String]) async throws -> [String: Int64] {
        guard !keys.isEmpty else { return [:] }
        var result: [String: Int64] = [:]
        for row in try await rows("SELECT key, bytes FROM stored_objects WHERE key = ANY(\(keys))") {
            let (key, bytes) = try row.decode((String, Int64).self)
            result[key] = bytes
        }
        return result
    }

    public func correctLedger(sizes: [String: Int64], missing: [String]) async throws -> Int {
        var changed = 0
        if !sizes.isEmpty {
            let keys = Array(sizes.keys)
            let bytes = keys.map { sizes[$0] ?? 0 }
            changed += try await rows(
                """
                UPDATE stored_objects o SET bytes = s.bytes
                FROM unnest(\(keys)::text[], \(bytes)::int8[]) AS s(key, bytes)
                WHERE o.key = s.key AND o.bytes <> s.bytes
                RETURNING o.key
                """).count
        }
        if !missing.isEmpty {
            changed += try await rows("DELETE FROM stored_objects WHERE key = ANY(\(missing)) RETURNING key").count
        }
        return changed
    }

    public func ledgerKeys(after: String, before: Date, limit: Int) async throws -> [String] {
        try await rows(
            """
            SELECT key FROM stored_objects WHERE key > \(after) AND created_at < \(before) ORDER BY key LIMIT \(limit)
            """).map { try $0.decode(String.self) }
    }

    public func resyncCounters() async throws -> [QuotaCorrection] {
        // Counters off from the ledger or the live reservations, found in one pass and then fixed one user at a time
        // under that user's row lock: a write that changes the ledger changes the counter row in its own
        // transaction, so once the lock is held the sums read next are the ones the counter must show.
        let suspects = try await rows(
            """
            SELECT u.user_id FROM (
                SELECT user_id FROM user_quotas
                UNION SELECT DISTINCT user_id FROM stored_objects
                UNION SELECT DISTINCT user_id FROM quota_reservations) u
            LEFT JOIN user_quotas q ON q.user_id = u.user_id
            WHERE q.user_id IS NULL
               OR q.used_bytes <> (SELECT COALESCE(sum(bytes), 0) FROM stored_objects o WHERE o.user_id = u.user_id)
               OR q.reserved_bytes <> (SELECT COALESCE(sum(bytes), 0) FROM quota_reservations r
                                       WHERE r.user_id = u.user_id AND r.expires_at > now())
            """).map { try $0.decode(Int64.self) }
        var corrections: [QuotaCorrection] = []
        for userId in suspects {
            let fixed: [QuotaCorrection] = try await client.transaction(logger: logger) { connection in
                try await connection.query(
                    "INSERT INTO user_quotas (user_id) VALUES (\(userId)) ON CONFLICT DO NOTHING", logger: logger)
                var was: (used: Int64, reserved: Int64) = (0, 0)
                for try await (used, reserved) in try await connection.query(
                    "SELECT used_bytes, reserved_bytes FROM user_quotas WHERE user_id = \(userId) FOR UPDATE",
                    logger: logger
                ).decode((Int64, Int64).self) {
                    was = (used, reserved)
                }
                var now: (used: Int64, reserved: Int64) = (0, 0)
                for try await (used, reserved) in try await connection.query(
                    """
                    SELECT (SELECT COALESCE(sum(bytes), 0)::int8 FROM stored_objects WHERE user_id = \(userId)),
                           (SELECT COALESCE(sum(bytes), 0)::int8 FROM quota_reservations
                            WHERE user_id = \(userId) AND expires_at > now())
                    """, logger: logger
                ).decode((Int64, Int64).self) {
                    now = (used, reserved)
                }
                guard was != now else { return [] }
                try await connection.query(
                    """
                    UPDATE user_quotas SET used_bytes = \(now.used), reserved_bytes = \(now.reserved)
                    WHERE user_id = \(userId)
                    """, logger: logger)
                var changed: [QuotaCorrection] = []
                if was.used != now.used {
                    changed.append(QuotaCorrection(userId: userId, field: "used_bytes", was: was.used, now: now.used))
                }
                if was.reserved != now.reserved {
                    changed.append(QuotaCorrection(userId: userId, field: "reserved_bytes", was: was.reserved, now: now.reserved))
                }
                return changed
            }
            corrections += fixed
        }
        return corrections
    }
}
