import Foundation
import Synchronization

/// `JobLedger` in memory, for unit tests.
public final class MemoryJobLedger: JobLedger {
    public struct Job: Sendable, Equatable {
        public var mediaId: Int64
        public var generation: Int
        public var worker: String
        public var running: Bool
        public var crashedStarts: Int
        public var beats: Int
    }

    private let jobs = Mutex<[String: Job]>([:])

    public init() {}

    /// The job of `eventId` from `queue`, as recorded.
    public func job(queue: String, eventId: UUID) -> Job? { jobs.withLock { $0["\(queue) \(eventId)"] } }

    public func begin(queue: String, eventId: UUID, mediaId: Int64, generation: Int, worker: String) async throws -> Int {
        jobs.withLock { jobs in
            let key = "\(queue) \(eventId)"
            var job = jobs[key] ?? Job(mediaId: mediaId, generation: generation, worker: worker, running: false,
                                       crashedStarts: 0, beats: 0)
            if job.running { job.crashedStarts += 1 }
            job.running = true
            job.worker = worker
            jobs[key] = job
            return job.crashedStarts
        }
    }

    public func beat(queue: String, eventId: UUID) async throws {
        jobs.withLock { $0["\(queue) \(eventId)"]?.beats += 1 }
    }

    public func finish(queue: String, eventId: UUID) async throws {
        jobs.withLock { $0["\(queue) \(eventId)"]?.running = false }
    }
}
