import Foundation
import Synchronization

/// Transform variants in the stored-object ledger (SPEC §12): one row of kind `variant` per stored variant, counted
/// in its owner's quota like any file, with the time it was last fetched. The Gateway records a variant when it
/// stores one and marks fetches a batch at a time; the Janitor removes variants nobody fetched for
/// `MEDIA_VARIANT_RETENTION`. A reprocess drops the older generations' rows (the ledger's trigger), a deletion all.
public protocol VariantStore: Sendable {
    /// Records the variant `key` of media `mediaId` in `generation`, fetched now; nothing when the media is gone or
    /// has moved on to another generation (its folder, the variant's with it, is on its way out).
    func recordVariant(key: String, mediaId: Int64, generation: Int, bytes: Int64) async throws
    /// Marks these variants as fetched now.
    func markFetched(keys: [String]) async throws
    /// Variants neither fetched nor stored within `age`, least recently fetched first.
    func expiredVariants(olderThan age: Duration, limit: Int) async throws -> [String]
    /// Removes the row of `key` if it is still expired (not fetched since it was listed); true when removed.
    func forgetVariant(key: String, olderThan age: Duration) async throws -> Bool
}

/// `VariantStore` in memory, for unit tests. Time is `now()`, which a test may move.
public final class MemoryVariantStore: VariantStore {
    public struct Row: Sendable, Equatable {
        public var mediaId: Int64
        public var bytes: Int64
        public var lastFetched: Date
    }

    private let rows = Mutex<[String: Row]>([:])
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public var all: [String: Row] { rows.withLock { $0 } }

    public func recordVariant(key: String, mediaId: Int64, generation: Int, bytes: Int64) async throws {
        let at = now()
        rows.withLock { $0[key] = Row(mediaId: mediaId, bytes: bytes, lastFetched: at) }
    }

    public func markFetched(keys: [String]) async throws {
        let at = now()
        rows.withLock { rows in for key in keys { rows[key]?.lastFetched = at } }
    }

    public func expiredVariants(olderThan age: Duration, limit: Int) async throws -> [String] {
        let cutoff = now().addingTimeInterval(-Double(age.components.seconds))
        return rows.withLock { rows in
            Array(rows.filter { $0.value.lastFetched < cutoff }.sorted { $0.value.lastFetched < $1.value.lastFetched }
                .prefix(limit).map(\.key))
        }
    }

    public func forgetVariant(key: String, olderThan age: Duration) async throws -> Bool {
        let cutoff = now().addingTimeInterval(-Double(age.components.seconds))
        return rows.withLock { rows in
            guard let row = rows[key], row.lastFetched < cutoff else { return false }
            rows[key] = nil
            return true
        }
    }
}
