import Foundation
import MediaDomain
import Synchronization

/// `MediaEventLog` in memory, for unit tests: events are appended by the test (no trigger records them here).
public final class MemoryMediaEventLog: MediaEventLog {
    private let records = Mutex<[MediaEventRecord]>([])

    public init() {}

    /// Records an event with the next id; returns it.
    @discardableResult
    public func append(userId: Int64, mediaId: Int64, type: String, percent: Double? = nil, media: Media? = nil) -> MediaEventRecord {
        records.withLock { records in
            let id = (records.last?.id ?? 0) + 1
            let record = MediaEventRecord(id: id, position: id, userId: userId, mediaId: mediaId, type: type,
                                          percent: percent, media: media, createdAt: Date())
            records.append(record)
            return record
        }
    }

    public func events(userId: Int64, after position: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord] {
        let oldest = Date().addingTimeInterval(-Double(maxAge.components.seconds))
        return records.withLock {
            Array($0.filter { $0.userId == userId && $0.position > position && $0.createdAt > oldest }.prefix(limit))
        }
    }

    public func events(after position: Int64, limit: Int) async throws -> [MediaEventRecord] {
        records.withLock { Array($0.filter { $0.position > position }.prefix(limit)) }
    }

    public func events(positions: [Int64]) async throws -> [MediaEventRecord] {
        records.withLock { $0.filter { positions.contains($0.position) } }
    }

    public func events(ids: [Int64]) async throws -> [MediaEventRecord] {
        records.withLock { $0.filter { ids.contains($0.id) } }
    }

    public func latestPosition() async throws -> Int64 {
        records.withLock { $0.last?.position ?? 0 }
    }

    public func pruneEvents(olderThan age: Duration) async throws -> Int {
        let oldest = Date().addingTimeInterval(-Double(age.components.seconds))
        return records.withLock { records in
            let before = records.count
            records.removeAll { $0.createdAt < oldest }
            return before - records.count
        }
    }
}
