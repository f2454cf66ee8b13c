import Foundation

/// Where processors record the jobs they run (issue 27, defects 0 and 5): a job's start before any work, a heartbeat
/// while it runs, its end whatever the outcome. Two things are read from it:
/// - a delivery whose earlier starts never ended was being worked on by a process that died in it: after
///   `MEDIA_MAX_CRASHES` such starts it is a poison message, failed and dead-lettered without being tried again;
/// - the Janitor's `stuck_processing` judges a media by its job's heartbeat, not by when the row last changed: a job
///   that waits in a queue has no running job and is never stuck, however long the queue.
public protocol JobLedger: Sendable {
    /// Records that `worker` starts the job of `eventId` from `queue` (for `mediaId` at `generation`). Returns how many
    /// earlier starts of this job never ended (their process died in them).
    func begin(queue: String, eventId: UUID, mediaId: Int64, generation: Int, worker: String) async throws -> Int
    /// The job of `eventId` still runs.
    func beat(queue: String, eventId: UUID) async throws
    /// The job of `eventId` ended (done, failed, retried later, dead-lettered or put back on its queue).
    func finish(queue: String, eventId: UUID) async throws
}
