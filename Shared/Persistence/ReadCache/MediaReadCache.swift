import MediaDomain
import Synchronization

/// The Gateway's cache of what clients read most: a media by id, a user's stats and list pages.
///
/// Why: a `GET /api/media/{id}/` that goes to PostgreSQL spends most of its CPU on the round trip (the query, the
/// backend, the wire), and a client polling a media for `ready` asks for the same row many times a second. Entries
/// are dropped the moment their row changes: by this process's own writes at once, and by every other process's
/// through PostgreSQL's `NOTIFY media_changed` (`MediaChangeListener`), which a trigger sends on every insert,
/// update and delete. While that listener is not connected, nothing is cached and every read goes to the database.
///
/// A read that raced a change can never store what it read: each read takes a ticket (the change sequence) before
/// asking the database, and storing is refused if its media or user changed after the ticket was taken. What is
/// left is the moment between another process's commit and its notification arriving here (sub-millisecond on one
/// machine), in which a cached copy is one change behind. Entries also expire after `lifetime`.
public final class MediaReadCache: Sendable {
    /// Taken before a read; storing the read's result is allowed only if nothing it depends on changed since.
    public struct Ticket: Sendable {
        let sequence: UInt64
        let enabled: Bool
    }

    struct Entry<Value> {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    struct UserEntries {
        var stats: Entry<MediaStats>?
        var pages: [MediaQuery: Entry<(count: Int, items: [Media])>] = [:]
    }

    struct State {
        var enabled = false
        var sequence: UInt64 = 0
        /// Reads whose ticket is older than this store nothing (set when everything was dropped).
        var floor: UInt64 = 0
        var media: [Int64: Entry<Media>] = [:]
        var users: [Int64: UserEntries] = [:]
        var mediaChanged: [Int64: UInt64] = [:]
        var userChanged: [Int64: UInt64] = [:]
    }

    private let state = Mutex(State())
    let lifetime: Duration
    let capacity: Int
    /// Loads of a user's list pages and stats under way (`shared`).
    let pages = SingleFlight<MediaQuery, ListPage>()
    let stats = SingleFlight<Int64, MediaStats>()

    public init(lifetime: Duration = .seconds(30), capacity: Int = 50_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    // MARK: Switching on and off (the change listener)

    /// Starts caching: the listener is now receiving every change.
    public func enable() {
        state.withLock { s in
            s.enabled = true
            Self.dropAll(&s)
        }
    }

    /// Stops caching and forgets everything: changes may now go unnoticed.
    public func disable() {
        state.withLock { s in
            s.enabled = false
            Self.dropAll(&s)
        }
    }

    public var isEnabled: Bool { state.withLock { $0.enabled } }

    private static func dropAll(_ s: inout State) {
        s.sequence += 1
        s.floor = s.sequence
        s.media.removeAll()
        s.users.removeAll()
        s.mediaChanged.removeAll()
        s.userChanged.removeAll()
    }

    // MARK: Changes

    /// A media row changed (or appeared, or went): its entry and every entry of its user go. Without the user
    /// (not known to the caller), only the media's entry goes; the change's notification names the user.
    public func invalidate(mediaId: Int64, userId: Int64?) {
        state.withLock { s in
            s.sequence += 1
            s.media[mediaId] = nil
            if let userId { s.users[userId] = nil }
            guard s.enabled else { return }
            if s.mediaChanged.count >= capacity || s.userChanged.count >= capacity {
                // Bounded bookkeeping: forgetting which keys changed means no in-flight read may store anything.
                Self.dropAll(&s)
                return
            }
            s.mediaChanged[mediaId] = s.sequence
            if let userId { s.userChanged[userId] = s.sequence }
        }
    }

    /// A change whose media is not known (a notification that could not be read): everything goes.
    public func invalidateAll() {
        state.withLock { Self.dropAll(&$0) }
    }

    // MARK: Reads

    public func ticket() -> Ticket {
        state.withLock { Ticket(sequence: $0.sequence, enabled: $0.enabled) }
    }

    public func media(id: Int64) -> Media? {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard s.enabled, let entry = s.media[id], entry.expires > now else { return nil }
            return entry.value
        }
    }

    public func stats(userId: Int64) -> MediaStats? {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard s.enabled, let entry = s.users[userId]?.stats, entry.expires > now else { return nil }
            return entry.value
        }
    }

    public func page(_ query: MediaQuery) -> (count: Int, items: [Media])? {
        let now = ContinuousClock.now
        return state.withLock { s in
            guard s.enabled, let entry = s.users[query.userId]?.pages[query], entry.expires > now else { return nil }
            return entry.value
        }
    }

    // MARK: Stores (refused when what was read may already be stale)

    public func store(_ media: Media, ticket: Ticket) {
        let expires = ContinuousClock.now + lifetime
        state.withLock { s in
            guard Self.fresh(ticket, s, mediaId: media.id, userId: nil) else { return }
            if s.media.count >= capacity { s.media.removeAll(keepingCapacity: true) }
            s.media[media.id] = Entry(value: media, expires: expires)
        }
    }

    public func store(_ stats: MediaStats, userId: Int64, ticket: Ticket) {
        let expires = ContinuousClock.now + lifetime
        state.withLock { s in
            guard Self.fresh(ticket, s, mediaId: nil, userId: userId) else { return }
            Self.makeRoom(&s, capacity: capacity)
            s.users[userId, default: UserEntries()].stats = Entry(value: stats, expires: expires)
        }
    }

    public func store(_ page: (count: Int, items: [Media]), for query: MediaQuery, ticket: Ticket) {
        let expires = ContinuousClock.now + lifetime
        state.withLock { s in
            guard Self.fresh(ticket, s, mediaId: nil, userId: query.userId) else { return }
            Self.makeRoom(&s, capacity: capacity)
            var entries = s.users[query.userId, default: UserEntries()]
            if entries.pages.count >= 64 { entries.pages.removeAll(keepingCapacity: true) }
            entries.pages[query] = Entry(value: page, expires: expires)
            s.users[query.userId] = entries
        }
    }

    private static func makeRoom(_ s: inout State, capacity: Int) {
        if s.users.count >= capacity / 10 { s.users.removeAll(keepingCapacity: true) }
    }

    /// Whether a read that took `ticket` still answers for `userId` now: nothing of the user changed since.
    public func isFresh(_ ticket: Ticket, userId: Int64) -> Bool {
        state.withLock { Self.fresh(ticket, $0, mediaId: nil, userId: userId) }
    }

    /// Whether nothing a read depends on changed since its ticket: the media (a detail read) or any media of the
    /// user (stats and list pages).
    private static func fresh(_ ticket: Ticket, _ s: State, mediaId: Int64?, userId: Int64?) -> Bool {
        guard ticket.enabled, s.enabled, ticket.sequence >= s.floor else { return false }
        if let mediaId, let changed = s.mediaChanged[mediaId], changed > ticket.sequence { return false }
        if let userId, let changed = s.userChanged[userId], changed > ticket.sequence { return false }
        return true
    }
}

/// A list page as the cache and its loads hand it around.
struct ListPage: Sendable {
    var count: Int
    var items: [Media]
}
