import Foundation
import Synchronization

/// `DeadLetterStore` in memory, for unit tests.
public final class MemoryDeadLetterStore: DeadLetterStore {
    private struct Row {
        var parked: ParkedLetter
        var resolution: String?
        var resolvedAt: Date?
        var claimedUntil: Date?
    }

    private let rows = Mutex<[Row]>([])

    public init() {}

    /// Every record with how it was resolved (nil: not yet).
    public var resolutions: [(eventId: String, resolution: String?)] {
        rows.withLock { $0.map { ($0.parked.letter.eventId, $0.resolution) } }
    }

    public func park(_ parked: ParkedLetter) async throws {
        rows.withLock { rows in
            let l = parked.letter
            guard !rows.contains(where: {
                $0.parked.letter.queue == l.queue && $0.parked.letter.eventId == l.eventId && $0.parked.letter.replays == l.replays
            }) else { return }
            var copy = parked
            copy.letter.id = Int64(rows.count + 1)
            rows.append(Row(parked: copy))
        }
    }

    private func unresolved(_ selection: DeadLetterSelection) -> [ParkedLetter] {
        rows.withLock { $0.filter { $0.resolution == nil && selection.matches($0.parked.letter) }.map(\.parked) }
    }

    public func letters(_ selection: DeadLetterSelection, offset: Int, limit: Int) async throws -> (count: Int, letters: [DeadLetter]) {
        let all = unresolved(selection).map(\.letter)
        return (all.count, Array(all.dropFirst(offset).prefix(limit)))
    }

    public func groups(_ selection: DeadLetterSelection) async throws -> [DeadLetterGroup] {
        var groups: [String: DeadLetterGroup] = [:]
        for letter in unresolved(selection).map(\.letter) {
            let key = "\(letter.queue)\u{0}\(letter.code)"
            var group = groups[key] ?? DeadLetterGroup(queue: letter.queue, code: letter.code, count: 0)
            group.count += 1
            if let at = letter.firstFailedAt {
                group.oldest = min(group.oldest ?? at, at)
                group.newest = max(group.newest ?? at, at)
            }
            groups[key] = group
        }
        return groups.values.sorted { ($0.queue, $0.code) < ($1.queue, $1.code) }
    }

    public func claim(_ selection: DeadLetterSelection, excluding: Set<Int64>, limit: Int, lease: Duration) async throws
        -> [ParkedLetter]
    {
        let now = Date()
        return rows.withLock { rows in
            var claimed: [ParkedLetter] = []
            for i in rows.indices where claimed.count < limit {
                guard rows[i].resolution == nil, (rows[i].claimedUntil ?? .distantPast) < now,
                      !excluding.contains(rows[i].parked.letter.id),
                      selection.matches(rows[i].parked.letter) else { continue }
                rows[i].claimedUntil = now.addingTimeInterval(Double(lease.components.seconds))
                claimed.append(rows[i].parked)
            }
            return claimed
        }
    }

    public func resolve(id: Int64, as resolution: String) async throws {
        rows.withLock { rows in
            guard let i = rows.firstIndex(where: { $0.parked.letter.id == id }) else { return }
            rows[i].resolution = resolution
            rows[i].resolvedAt = Date()
            rows[i].claimedUntil = nil
        }
    }

    public func release(id: Int64) async throws {
        rows.withLock { rows in
            if let i = rows.firstIndex(where: { $0.parked.letter.id == id }) { rows[i].claimedUntil = nil }
        }
    }
}
