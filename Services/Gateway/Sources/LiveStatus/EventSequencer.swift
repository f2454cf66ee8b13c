/// Puts announced events back in id order before streams see them.
///
/// An event's id is taken when its row is written, but the event is seen only when its transaction commits, and two
/// Gateways' folds can commit in the other order: 11 may be announced before 10. A stream writes ids in growing
/// order (and a client resumes after the last id it saw), so 10 arriving after 11 would be lost to it. The sequencer
/// releases ids only in order: an id after a gap waits until the gap fills, or until `hold` has passed (the missing id
/// belonged to a transaction that rolled back, which leaves a gap for good). `horizon` is the last id released: every
/// id up to it is committed or given up on, which is what a replay may read up to.
struct EventSequencer {
    struct Announced: Equatable {
        var id: Int64
        var userId: Int64
    }

    private(set) var horizon: Int64
    private var waiting: [Int64: (userId: Int64, since: ContinuousClock.Instant)] = [:]
    let hold: Duration

    init(horizon: Int64, hold: Duration = .seconds(3)) {
        self.horizon = horizon
        self.hold = hold
    }

    var isWaiting: Bool { !waiting.isEmpty }

    /// An announced event. One at or below the horizon (a transaction slower than `hold`) is released at once: late,
    /// but not dropped here.
    mutating func saw(_ id: Int64, userId: Int64, at now: ContinuousClock.Instant) -> [Announced] {
        if id <= horizon { return [Announced(id: id, userId: userId)] }
        waiting[id] = (userId, now)
        return release(at: now)
    }

    /// What can go now, in id order.
    mutating func release(at now: ContinuousClock.Instant) -> [Announced] {
        var out: [Announced] = []
        while true {
            if let next = waiting.removeValue(forKey: horizon + 1) {
                horizon += 1
                out.append(Announced(id: horizon, userId: next.userId))
                continue
            }
            guard let oldest = waiting.min(by: { $0.key < $1.key }), now - oldest.value.since >= hold else { break }
            horizon = oldest.key - 1   // the gap below it is given up on
        }
        return out
    }

    /// Back to `id` after released events could not be handed on (they are read again from the log).
    mutating func rewind(to id: Int64) {
        horizon = min(horizon, id)
        waiting.removeAll()
    }
}
