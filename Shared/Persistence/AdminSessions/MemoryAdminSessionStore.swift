import Foundation
import Synchronization

/// `AdminSessionStore` in memory, for unit tests (several test Gateways may share one, as several Gateways share the
/// database).
public final class MemoryAdminSessionStore: AdminSessionStore {
    private struct Row {
        var record: AdminSessionRecord
        var secretHash: String
        var endedAt: Date?
    }

    private let rows = Mutex<[Row]>([])

    public init() {}

    public func create(secretHash: String, userId: Int64, username: String, isStaff: Bool, csrfToken: String,
                       expiresAt: Date) async throws -> AdminSessionRecord {
        rows.withLock { rows in
            let record = AdminSessionRecord(
                id: Int64(rows.count + 1), userId: userId, username: username, isStaff: isStaff, csrfToken: csrfToken,
                createdAt: Date(), expiresAt: expiresAt)
            rows.append(Row(record: record, secretHash: secretHash))
            return record
        }
    }

    public func find(secretHash: String) async throws -> AdminSessionRecord? {
        let now = Date()
        return rows.withLock { rows in
            rows.first { $0.secretHash == secretHash && $0.endedAt == nil && $0.record.expiresAt > now }?.record
        }
    }

    public func end(secretHash: String, by: String) async throws -> Bool {
        rows.withLock { rows in
            guard let i = rows.firstIndex(where: { $0.secretHash == secretHash && $0.endedAt == nil }) else { return false }
            rows[i].endedAt = Date()
            return true
        }
    }

    public func revoke(id: Int64, by: String) async throws -> Bool {
        rows.withLock { rows in
            guard let i = rows.firstIndex(where: { $0.record.id == id && $0.endedAt == nil }) else { return false }
            rows[i].endedAt = Date()
            return true
        }
    }

    public func live(limit: Int) async throws -> [AdminSessionRecord] {
        let now = Date()
        return rows.withLock { rows in
            Array(rows.filter { $0.endedAt == nil && $0.record.expiresAt > now }.map(\.record).reversed().prefix(limit))
        }
    }

    public func prune(olderThan age: Duration) async throws -> Int {
        let cutoff = Date().addingTimeInterval(-Double(age.components.seconds))
        return rows.withLock { rows in
            let before = rows.count
            rows.removeAll { ($0.endedAt ?? $0.record.expiresAt) < cutoff }
            return before - rows.count
        }
    }
}
