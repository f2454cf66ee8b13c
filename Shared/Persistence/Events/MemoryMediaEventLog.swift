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
            let record = MediaEventRecord(id: (records.last?.id ?? 0) + 1, userId: userId, mediaId: mediaId, type: type,
                                          percent: percent, media: media, createdAt: Date())
            records.append(record)
            return record
        }
    }

    public func events(userId: Int64, after id: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord] {
        let oldest = Date().addingTimeInterval(-Double(maxAge.components.seconds))
        return records.withLock { Array($0.filter { $0.userId == userId && $0.id > id && $0.createdAt > oldest }.prefix(limit)) }
    }

    public func events(after id: Int64, limit: Int) async throws -> [MediaEventRecord] {
        records.withLock { Array($0.filter { $0.id > id }.prefix(limit)) }
    }

    public func events(ids: [Int64]) async throws -> [MediaEventRecord] {
        records.withLock { $0.filter { ids.contains($0.id) } }
    }

    public func latestEventId() async throws -> Int64 {
        records.withLock { $0.last?.id ?? 0 }
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
