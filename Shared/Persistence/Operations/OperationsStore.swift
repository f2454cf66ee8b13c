import Foundation
import MediaDomain

/// The media table and the outbox as the Janitor, the replay and the staff API see them (SPEC §4, §6, §7): across
/// users, by state and age. Every change is guarded by what was true when it was decided (still failed, still the
/// same generation, still stale), so two runs racing each other, or a user's own action, never undo each other.
public protocol OperationsStore: MediaFolderUsage {
    // MARK: failed_cleanup
    /// Media failed for longer than `age`, oldest first.
    func failedMedia(olderThan age: Duration, limit: Int) async throws -> [Media]
    /// Deletes the row if it is still failed and older than `age`; returns it (its files go next).
    func deleteFailed(id: Int64, olderThan age: Duration, fence: JanitorFence?) async throws -> Media?

    // MARK: orphan_sweep
    /// The media owning each of these storage folders (`media/<folder>/…`), by folder.
    func owners(ofFolders folders: [String]) async throws -> [String: FolderOwner]

    // MARK: stuck_processing
    /// Media stuck under `rule`, longest silent first.
    func stuckMedia(_ rule: StuckRule, limit: Int) async throws -> [StuckMedia]
    /// Outboxes the media's job again (same generation, new event id) and counts it, if it is still processing in
    /// `generation`, still stuck under `rule` and republished fewer than `limit` times. Returns whether it did.
    func republishStuck(id: Int64, generation: Int, rule: StuckRule, limit: Int, fence: JanitorFence?) async throws -> Bool
    /// Marks the media failed with `error` (and outboxes its `media.failed`) if it is still processing in
    /// `generation` and still stuck under `rule`. Returns whether it did.
    func failStuck(id: Int64, generation: Int, rule: StuckRule, error: MediaError, fence: JanitorFence?) async throws -> Bool

    // MARK: outbox_watch
    /// Unsent outbox rows older than `age`, and the age of the oldest unsent row.
    func outboxBacklog(olderThan age: Duration) async throws -> OutboxBacklog
    /// Deletes sent outbox rows and handled-event records older than `age`.
    func pruneDelivered(olderThan age: Duration, fence: JanitorFence?) async throws -> (outbox: Int, inbox: Int)
    /// Deletes live-status events older than `eventAge` (but none a kept webhook delivery renders at its attempts: a
    /// delivery's body is rendered anew at each attempt and redelivery, so its file URLs are freshly signed),
    /// finished webhook deliveries older than `deliveryAge`, and expired stream tickets (SPEC §8).
    func pruneLiveStatus(eventsOlderThan eventAge: Duration, deliveriesOlderThan deliveryAge: Duration, fence: JanitorFence?)
        async throws -> (events: Int, deliveries: Int)

    // MARK: the acting Janitor
    /// Takes the Janitor lease for `holder` (who holds the Janitor lock): the next epoch, the fencing token every write of
    /// its tasks carries. Waits for writes fenced by the previous epoch that are under way.
    func takeJanitorLease(holder: String) async throws -> JanitorFence
    /// Throws `JanitorFenceLost` unless `fence` is still the lease's epoch (nil: not fenced, nothing to check).
    func checkFence(_ fence: JanitorFence?) async throws

    // MARK: janitor_runs
    /// Records a run the Janitor starts now (state `running`).
    func startRun(task: String, dryRun: Bool, trigger: String, instance: String) async throws -> Int64
    /// Records a run asked for by staff or `mediactl` (state `requested`): the Janitor takes it from its command queue.
    func requestRun(task: String, dryRun: Bool, trigger: String) async throws -> Int64
    /// Marks a requested run `running` in `instance`; false when it is not requested (any more).
    func claimRequestedRun(id: Int64, instance: String) async throws -> Bool
    func finishRun(id: Int64, counts: [String: Int], error: String?) async throws
    /// One run, by id.
    func janitorRun(id: Int64) async throws -> JanitorRun?
    /// The latest runs, newest first (of one task when given).
    func janitorRuns(task: String?, limit: Int) async throws -> [JanitorRun]

    // MARK: backfill
    /// Ready media with no `metadata.thumbhash` yet (stored before SPEC §12's placeholders), or images and videos with
    /// no `metadata.phash` (stored before SPEC §13), by id after `id`.
    func mediaMissingPlaceholders(after id: Int64, limit: Int) async throws -> [Media]
    /// Adds those of `fields` the media's metadata lacks if it is still ready in `generation` and still lacks one of
    /// them (a reprocess since made its own: the job's values win); true when written. Not an outcome: no event, no
    /// `updated_at` change.
    func addPlaceholders(id: Int64, generation: Int, fields: [String: JSONValue], fence: JanitorFence?) async throws -> Bool
    /// Media of any status with no `sha256` (stored before SPEC §13), by id after `id`.
    func mediaWithoutContentHash(after id: Int64, limit: Int) async throws -> [Media]
    /// Sets the media's `sha256` if it has none yet; true when written.
    func addContentHash(id: Int64, sha256: String, fence: JanitorFence?) async throws -> Bool

    // MARK: replay and staff actions
    /// Puts a failed media back to processing in the same generation (a replay is about to deliver its job);
    /// returns the media as it was (failed), or nil when it was not failed in that generation.
    func returnToProcessing(id: Int64, generation: Int) async throws -> Media?
    /// Undoes `returnToProcessing` when the job could not be sent after all: failed again, as it was, if still
    /// processing in that generation.
    func restoreFailed(_ media: Media) async throws -> Bool
    /// Ids of failed media, oldest first: with an error code, of a type, failed since a time (all optional).
    func failedMediaIds(code: String?, type: FileType?, since: Date?, limit: Int) async throws -> [Int64]
    /// `MediaRepository.reprocess`, for any user's media.
    func reprocess(id: Int64) async throws -> ReprocessResult
    /// Any restart of any user's media: `.release` (a quarantined media whose original is back) or `.rescan`.
    func restart(id: Int64, kind: RestartKind) async throws -> ReprocessResult
    func find(id: Int64) async throws -> Media?
    /// Deletes any user's media; returns it (its files go next).
    func delete(id: Int64) async throws -> Media?
    /// Sets visibility of any user's media.
    func setPublic(id: Int64, isPublic: Bool) async throws -> Media?

    // MARK: admin console
    /// One page of every user's media that pass the filters, newest first, and how many pass them.
    func staffMedia(_ query: StaffMediaQuery) async throws -> (count: Int, items: [Media])
    /// Every user's media by type and status; uploads per day and processing times over the last `days` days.
    func staffStats(days: Int) async throws -> StaffStats
}

/// Who owns a storage folder: its media's original and current generation (files of other generations are left
/// over from reprocessing).
public struct FolderOwner: Sendable, Equatable {
    public var mediaId: Int64
    public var originalKey: String
    public var generation: Int
    public var status: MediaStatus

    public init(mediaId: Int64, originalKey: String, generation: Int, status: MediaStatus) {
        self.mediaId = mediaId
        self.originalKey = originalKey
        self.generation = generation
        self.status = status
    }
}

/// When a processing media is stuck (SPEC §4, refined by issue 27): not by when its row last changed (a video waiting
/// behind a long queue would be "stuck" and republished, making the queue longer), but by its job:
/// - its job runs (`JobLedger`) and its heartbeat is older than its type's limit: the process working on it is gone
///   and the job did not come back to a queue;
/// - or no job of it runs or ended within its type's limit, its row has not changed for that long, and its type's
///   queues hold no message at all (`idleQueues`): its job is in no queue, so its message was lost.
/// A job waiting in a queue is never stuck, however long it waits.
public struct StuckRule: Sendable, Equatable {
    /// `MEDIA_STUCK_AFTER` by type.
    public var after: [FileType: Duration]
    /// Types whose work queue and retry queues held no message when the Janitor looked.
    public var idleQueues: Set<FileType>

    public init(after: [FileType: Duration], idleQueues: Set<FileType>) {
        self.after = after
        self.idleQueues = idleQueues
    }

    public func limit(for type: FileType) -> Duration { after[type] ?? .seconds(900) }

    /// The rule in SQL over `media m` (integers and file type names of this enum inlined; nothing of a user's).
    var sqlCondition: String {
        let threshold = "(CASE m.file_type WHEN 'video' THEN \(limit(for: .video).milliseconds) WHEN 'image' THEN "
            + "\(limit(for: .image).milliseconds) ELSE \(limit(for: .audio).milliseconds) END) * interval '1 millisecond'"
        let job = "SELECT 1 FROM processing_jobs j WHERE j.media_id = m.id AND j.generation = m.generation"
        let silent = "EXISTS (\(job) AND j.running AND j.heartbeat_at < now() - \(threshold))"
        let idle = FileType.allCases.filter(idleQueues.contains).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        guard !idle.isEmpty else { return "m.status = 'processing' AND \(silent)" }
        // No job runs, and none ended within the limit either: an outcome that is being folded right now is not lost.
        let lost = "(m.file_type IN (\(idle)) AND m.updated_at < now() - \(threshold) "
            + "AND NOT EXISTS (\(job) AND (j.running OR j.heartbeat_at > now() - \(threshold))))"
        return "m.status = 'processing' AND (\(silent) OR \(lost))"
    }
}

/// A media that stopped hearing from its processor.
public struct StuckMedia: Sendable, Equatable {
    public var media: Media
    /// How often the Janitor already republished its job in this generation.
    public var republishes: Int

    public init(media: Media, republishes: Int) {
        self.media = media
        self.republishes = republishes
    }
}

public struct OutboxBacklog: Sendable, Equatable {
    public var staleUnsent: Int
    public var oldestUnsentAge: Duration?

    public init(staleUnsent: Int, oldestUnsentAge: Duration?) {
        self.staleUnsent = staleUnsent
        self.oldestUnsentAge = oldestUnsentAge
    }
}

/// The acting Janitor's fencing token (issue 27, defect 7): the epoch of the Janitor lease it took when it got the
/// Janitor lock. Its tasks' writes check it in their own transaction, so a Janitor that lost its session (and its lock)
/// but still runs cannot write beside its successor: the successor's lease has a newer epoch.
public struct JanitorFence: Sendable, Equatable {
    public let epoch: Int64
    public init(epoch: Int64) { self.epoch = epoch }
}

/// A write refused because a newer Janitor took the lease.
public struct JanitorFenceLost: Error, CustomStringConvertible {
    public let epoch: Int64
    public init(epoch: Int64) { self.epoch = epoch }
    public var description: String { "this Janitor (epoch \(epoch)) was deposed: a newer one holds the Janitor lease" }
}

/// One run of a Janitor task, as `janitor_runs` records it.
public struct JanitorRun: Sendable, Equatable {
    public var id: Int64
    /// `requested` (asked for, not started), `running` or `finished`.
    public var state: String
    public var task: String
    public var trigger: String
    public var instance: String
    public var dryRun: Bool
    public var startedAt: Date
    public var finishedAt: Date?
    public var counts: [String: Int64]
    public var error: String?

    public init(id: Int64, state: String = "finished", task: String, trigger: String, instance: String, dryRun: Bool,
                startedAt: Date, finishedAt: Date?, counts: [String: Int64], error: String?) {
        self.id = id
        self.state = state
        self.task = task
        self.trigger = trigger
        self.instance = instance
        self.dryRun = dryRun
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
        self.error = error
    }
}
