import Foundation
import Synchronization

/// `UploadRateStore` in memory, for unit tests: the same algorithm on a dictionary, with a clock a test can move.
public final class MemoryUploadRateStore: UploadRateStore {
    private let tats = Mutex<[Int64: Date]>([:])
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func take(userId: Int64, rate: UploadRate, burst: Int) async throws -> RateDecision {
        let now = now()
        return tats.withLock { tats in
            let interval = Double(rate.intervalMicros) / 1_000_000
            let previous = tats[userId]
            let next = max(previous ?? now, now).addingTimeInterval(interval)
            let micros = { (date: Date) in Int64((date.timeIntervalSince(now) * 1_000_000).rounded()) }
            guard next.timeIntervalSince(now) <= interval * Double(burst) + 1e-9 else {
                return RateDecision.gcra(takenMicros: nil, previousMicros: previous.map(micros), rate: rate, burst: burst)
            }
            tats[userId] = next
            return RateDecision.gcra(takenMicros: micros(next), previousMicros: nil, rate: rate, burst: burst)
        }
    }
}
