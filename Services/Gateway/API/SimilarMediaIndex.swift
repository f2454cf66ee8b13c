import MediaDomain
import Persistence
import Synchronization

/// A user's perceptual hashes held in memory (SPEC §13 `GET /api/media/{id}/similar/`): a scan of 100,000 of them is
/// 100,000 XORs and bit counts, tens of microseconds, where the same scan in PostgreSQL reads 100,000 index entries
/// per request. What keeps it true: before each scan the index asks the database for the user's hash changes since
/// the highest sequence it has seen (`media.phash_seq`, kept by a trigger; an index range scan that is usually
/// empty), so a new or reprocessed media is seen by the next request on every Gateway. Deleted media are not
/// announced: the caller checks the matches still exist and tells the index to `forget` those that do not.
///
/// With the Gateway's read cache (`MediaReadCache`, which hears of every change of a media row through PostgreSQL's
/// NOTIFY), even that query is skipped while nothing of the user changed since the last one: the same freshness, and
/// the same sub-millisecond window after another process's commit, as every cached read of the API.
///
/// Memory is bounded by `capacity` hashes across users (16 bytes each); past it the least recently asked user's are
/// dropped and read again when next needed.
package final class SimilarMediaIndex: Sendable {
    package struct Match: Sendable, Equatable {
        package var mediaId: Int64
        package var distance: Int
    }

    struct UserHashes {
        var sequence: Int64 = 0
        var ids: [Int64] = []
        var hashes: [UInt64] = []
        var slots: [Int64: Int] = [:]
        var lastUsed: UInt64 = 0
        /// The read cache's ticket taken before the last look at the changes: while it is fresh, nothing changed.
        var checked: MediaReadCache.Ticket?

        mutating func apply(_ change: PerceptualHashChange) {
            guard change.sequence > sequence else { return }  // a concurrent refresh applied it already
            sequence = change.sequence
            if let hash = change.hash {
                if let slot = slots[change.mediaId] {
                    hashes[slot] = hash
                } else {
                    slots[change.mediaId] = ids.count
                    ids.append(change.mediaId)
                    hashes.append(hash)
                }
            } else {
                remove(change.mediaId)
            }
        }

        mutating func remove(_ id: Int64) {
            guard let slot = slots.removeValue(forKey: id) else { return }
            let last = ids.count - 1
            if slot != last {
                ids[slot] = ids[last]
                hashes[slot] = hashes[last]
                slots[ids[slot]] = slot
            }
            ids.removeLast()
            hashes.removeLast()
        }
    }

    struct State {
        var users: [Int64: UserHashes] = [:]
        var held = 0
        var clock: UInt64 = 0
    }

    private let store: any PerceptualHashStore
    private let cache: MediaReadCache?
    private let capacity: Int
    private let state = Mutex(State())
    /// Changes read per query while catching up (a user's first request reads all their hashes).
    static let batch = 20_000

    package init(store: any PerceptualHashStore, cache: MediaReadCache? = nil, capacity: Int = 2_000_000) {
        self.store = store
        self.cache = cache
        self.capacity = capacity
    }

    /// The user's media whose hash is within `maxDistance` bits of `hash`, nearest first (then oldest first), without
    /// `excluding` (the media asked about).
    package func matches(userId: Int64, hash: UInt64, maxDistance: Int, excluding: Int64) async throws -> [Match] {
        try await refresh(userId: userId)
        // Arrays are copied on write: the scan reads a snapshot while another request may apply changes.
        let (ids, hashes) = state.withLock { s -> ([Int64], [UInt64]) in
            s.clock += 1
            s.users[userId]?.lastUsed = s.clock
            return (s.users[userId]?.ids ?? [], s.users[userId]?.hashes ?? [])
        }
        var found: [Match] = []
        hashes.withUnsafeBufferPointer { hashes in
            for i in hashes.indices {
                let distance = (hashes[i] ^ hash).nonzeroBitCount
                if distance <= maxDistance && ids[i] != excluding { found.append(Match(mediaId: ids[i], distance: distance)) }
            }
        }
        found.sort { ($0.distance, $0.mediaId) < ($1.distance, $1.mediaId) }
        return found
    }

    /// Drops media the caller found deleted.
    package func forget(_ ids: some Sequence<Int64>, userId: Int64) {
        state.withLock { s in
            guard var user = s.users.removeValue(forKey: userId) else { return }
            let before = user.ids.count
            for id in ids { user.remove(id) }
            s.held -= before - user.ids.count
            s.users[userId] = user
        }
    }

    /// Reads the user's changes since the last look and applies them.
    func refresh(userId: Int64) async throws {
        let (known, checked) = state.withLock { ($0.users[userId]?.sequence ?? 0, $0.users[userId]?.checked) }
        if let cache, let checked, cache.isFresh(checked, userId: userId) { return }
        let ticket = cache?.ticket()
        var after = known
        while true {
            let changes = try await store.perceptualHashChanges(userId: userId, after: after, limit: Self.batch)
            state.withLock { s in
                var user = s.users.removeValue(forKey: userId) ?? UserHashes()
                let before = user.ids.count
                for change in changes { user.apply(change) }
                if changes.count < Self.batch { user.checked = ticket }
                s.held += user.ids.count - before
                s.users[userId] = user
                evict(&s, keeping: userId)
            }
            guard changes.count == Self.batch, let last = changes.last else { return }
            after = last.sequence
        }
    }

    private func evict(_ s: inout State, keeping userId: Int64) {
        while s.held > capacity {
            guard let (oldest, hashes) = s.users.filter({ $0.key != userId }).min(by: { $0.value.lastUsed < $1.value.lastUsed })
            else { return }
            s.users[oldest] = nil
            s.held -= hashes.ids.count
        }
    }

    /// How many hashes are held (for tests and metrics).
    package var heldCount: Int { state.withLock { $0.held } }
}
