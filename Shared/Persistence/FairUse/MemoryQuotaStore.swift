import Foundation
import Synchronization

/// `QuotaStore` in memory, for unit tests. There is no ledger trigger here: a test says what a user's files use with
/// `setUsed` (the ledger keys are kept as given to `setLedger`).
public final class MemoryQuotaStore: QuotaStore {
    private struct Reservation {
        var userId: Int64
        var bytes: Int64
        var expiresAt: Date
    }

    private struct State {
        var limits: [Int64: Int64] = [:]
        var used: [Int64: Int64] = [:]
        var reservations: [UUID: Reservation] = [:]
        var ledger: [String: (userId: Int64, bytes: Int64)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// What the user's stored files use (the ledger's sum in PostgreSQL).
    public func setUsed(userId: Int64, bytes: Int64) {
        state.withLock { $0.used[userId] = bytes }
    }

    public func setLedger(key: String, userId: Int64, bytes: Int64) {
        state.withLock { $0.ledger[key] = (userId, bytes) }
    }

    public func usage(userId: Int64, defaultLimit: Int64) async throws -> QuotaUsage {
        state.withLock { Self.usage(of: userId, in: $0, defaultLimit: defaultLimit, now: Date()) }
    }

    private static func usage(of userId: Int64, in state: State, defaultLimit: Int64, now: Date) -> QuotaUsage {
        let reserved = state.reservations.values.filter { $0.userId == userId && $0.expiresAt > now }.reduce(0) { $0 + $1.bytes }
        return QuotaUsage(
            limitBytes: state.limits[userId] ?? defaultLimit, customLimitBytes: state.limits[userId],
            usedBytes: state.used[userId] ?? 0, reservedBytes: reserved)
    }

    public func setLimit(userId: Int64, limitBytes: Int64?) async throws {
        state.withLock { $0.limits[userId] = limitBytes }
    }

    public func reserve(id: UUID, userId: Int64, bytes: Int64, defaultLimit: Int64, expiresAt: Date) async throws -> QuotaReservation {
        state.withLock { state in
            let usage = Self.usage(of: userId, in: state, defaultLimit: defaultLimit, now: Date())
            guard bytes <= usage.availableBytes else { return .refused(usage) }
            state.reservations[id] = Reservation(userId: userId, bytes: bytes, expiresAt: expiresAt)
            return .reserved(id)
        }
    }

    public func grow(_ reservation: UUID, userId: Int64, by bytes: Int64, defaultLimit: Int64) async throws -> Bool {
        state.withLock { state in
            guard state.reservations[reservation] != nil,
                  bytes <= Self.usage(of: userId, in: state, defaultLimit: defaultLimit, now: Date()).availableBytes
            else { return false }
            state.reservations[reservation]?.bytes += bytes
            return true
        }
    }

    public func release(_ reservation: UUID) async throws {
        _ = state.withLock { $0.reservations.removeValue(forKey: reservation) }
    }

    /// No trigger here: the reservation is given back now.
    public func settled(_ reservation: UUID) async throws {
        try await release(reservation)
    }

    public func releaseExpired() async throws -> Int {
        state.withLock { state in
            let now = Date()
            let lapsed = state.reservations.filter { $0.value.expiresAt <= now }.map(\.key)
            for id in lapsed { state.reservations.removeValue(forKey: id) }
            return lapsed.count
        }
    }

    public func ledgerBytes(keys: [String]) async throws -> [String: Int64] {
        state.withLock { state in
            var found: [String: Int64] = [:]
            for key in keys { if let row = state.ledger[key] { found[key] = row.bytes } }
            return found
        }
    }

    public func correctLedger(sizes: [String: Int64], missing: [String]) async throws -> Int {
        state.withLock { state in
            var changed = 0
            for (key, bytes) in sizes where state.ledger[key] != nil && state.ledger[key]?.bytes != bytes {
                state.ledger[key]?.bytes = bytes
                changed += 1
            }
            for key in missing where state.ledger.removeValue(forKey: key) != nil { changed += 1 }
            return changed
        }
    }

    public func ledgerKeys(after: String, before: Date, limit: Int) async throws -> [String] {
        state.withLock { Array($0.ledger.keys.filter { $0 > after }.sorted().prefix(limit)) }
    }

    public func resyncCounters() async throws -> [QuotaCorrection] {
        state.withLock { state in
            var sums: [Int64: Int64] = [:]
            for row in state.ledger.values { sums[row.userId, default: 0] += row.bytes }
            var corrections: [QuotaCorrection] = []
            for userId in Set(sums.keys).union(state.used.keys).sorted() {
                let was = state.used[userId] ?? 0
                let now = sums[userId] ?? 0
                guard was != now else { continue }
                state.used[userId] = now
                corrections.append(QuotaCorrection(userId: userId, field: "used_bytes", was: was, now: now))
            }
            return corrections
        }
    }
}
