import Foundation
import Synchronization

/// `LiveStreamRegistry` in memory, for unit tests.
public final class MemoryLiveStreamRegistry: LiveStreamRegistry {
    private let streams = Mutex<[UUID: (userId: Int64, beat: Date)]>([:])

    public init() {}

    public func open(userId: Int64, gateway: String, limit: Int, staleAfter: Duration) async throws -> UUID? {
        streams.withLock { streams in
            let cutoff = Date().addingTimeInterval(-Double(staleAfter.components.seconds))
            guard streams.values.count(where: { $0.userId == userId && $0.beat > cutoff }) < limit else { return nil }
            let id = UUID()
            streams[id] = (userId, Date())
            return id
        }
    }

    public func close(_ id: UUID) async throws {
        _ = streams.withLock { $0.removeValue(forKey: id) }
    }

    public func heartbeat(_ ids: [UUID]) async throws {
        streams.withLock { streams in
            for id in ids { streams[id]?.beat = Date() }
        }
    }

    /// Open streams of a user (tests).
    public func count(userId: Int64) -> Int {
        streams.withLock { $0.values.count(where: { $0.userId == userId }) }
    }
}
