import Foundation
import Operations
import Logging
import MediaDomain
import Metrics
import Persistence
import Storage

/// What one run of a task counted (and, unless it was a dry run, did).
public struct JanitorReport: Sendable, Equatable {
    public var counts: [String: Int] = [:]

    public init(counts: [String: Int] = [:]) { self.counts = counts }

    mutating func add(_ key: String, _ amount: Int = 1) { counts[key, default: 0] += amount }

    /// The counts that are things done (counted in `mediaflow_janitor_actions_total`); the others are observations.
    static let actionKeys: Set<String> = [
        "deleted_media", "deleted_files", "removed", "removed_abandoned_writes", "republished", "failed",
        "pruned_outbox", "pruned_inbox", "pruned_events", "pruned_deliveries",
        "released_reservations", "ledger_size_fixed", "ledger_missing", "corrected_counters", "placeholders",
        "expired_variants", "hashed",
    ]
}

/// A run as recorded in `janitor_runs`, with its report.
public struct JanitorRunResult: Sendable {
    public var runId: Int64
    public var task: JanitorTaskName
    public var dryRun: Bool
    public var report: JanitorReport
    public var error: String?
}

/// The tasks of SPEC §4 over one store and one storage, each run recorded in `janitor_runs` and counted in
/// `/metrics`. Only the acting Janitor runs them (its schedule, and the runs staff and `mediactl` ask it for), each
/// write fenced by its lease (`JanitorFence`); every change is also guarded in the store by what was true when it was
/// decided, so two runs overlapping never undo each other.
public struct JanitorTasks: Sendable {
    let store: any OperationsStore
    let storage: any BlobStorage
    /// Resumable uploads, whose expired ones the orphan sweep removes (SPEC §8); nil where no Gateway takes them.
    let uploads: (any ResumableUploadStore)?
    /// Quotas (SPEC §10): `quota_resync` reconciles them with storage, and the orphan sweep gives back expired
    /// reservations; nil where there are none (unit tests of other tasks).
    let quotas: (any QuotaStore)?
    /// Transform variants (SPEC §12): the orphan sweep removes those nobody fetched for `MEDIA_VARIANT_RETENTION`.
    let variants: (any VariantStore)?
    /// Which work queues are empty (stuck_processing tells a lost job from a queued one by it).
    let queues: any WorkQueueProbe
    let settings: JanitorSettings
    /// Who runs the tasks, as `janitor_runs.instance` records it (host and pid).
    let instance: String
    let logger: Logger

    public init(store: any OperationsStore, storage: any BlobStorage, uploads: (any ResumableUploadStore)? = nil,
                quotas: (any QuotaStore)? = nil, variants: (any VariantStore)? = nil,
                queues: any WorkQueueProbe = FixedWorkQueueProbe(idle: []), settings: JanitorSettings, instance: String,
                logger: Logger) {
        self.store = store
        self.storage = storage
        self.uploads = uploads
        self.quotas = quotas
        self.variants = variants
        self.queues = queues
        self.settings = settings
        self.instance = instance
        self.logger = logger
    }

    /// Runs `task` now and records the run (as `requested`, when given: a run staff or `mediactl` asked for); a failure
    /// is recorded (and counted) too, then rethrown. Every write is fenced by `fence` (nil: unfenced, in unit tests).
    @discardableResult
    public func run(_ task: JanitorTaskName, dryRun: Bool, trigger: String, fence: JanitorFence? = nil,
                    requested: Int64? = nil) async throws -> JanitorRunResult {
        var logger = self.logger
        logger[metadataKey: "task"] = "\(task.rawValue)"
        logger[metadataKey: "dry_run"] = "\(dryRun)"
        let runId: Int64
        do {
            if let requested {
                runId = requested
            } else {
                runId = try await store.startRun(task: task.rawValue, dryRun: dryRun, trigger: trigger, instance: instance)
            }
        } catch {
            Counter(label: "mediaflow_janitor_runs_total", dimensions: [("task", task.rawValue), ("outcome", "error")]).increment()
            logger.error("janitor task not started: its run cannot be recorded", metadata: [
                "error": "\(DatabaseFailure.describe(error))",
            ])
            throw error
        }
        let started = ContinuousClock.now
        do {
            let report = try await perform(task, dryRun: dryRun, fence: fence, logger: logger)
            try await store.finishRun(id: runId, counts: report.counts, error: nil)
            Counter(label: "mediaflow_janitor_runs_total", dimensions: [("task", task.rawValue), ("outcome", "ok")]).increment()
            if !dryRun {
                for (key, value) in report.counts where JanitorReport.actionKeys.contains(key) {
                    Counter(label: "mediaflow_janitor_actions_total", dimensions: [("task", task.rawValue), ("action", key)])
                        .increment(by: value)
                }
                Gauge(label: "mediaflow_janitor_last_success_timestamp_seconds", dimensions: [("task", task.rawValue)])
                    .record(Date().timeIntervalSince1970)
            }
            logger.info("janitor task done", metadata: [
                "run_id": "\(runId)", "ms": "\(started.duration(to: .now).milliseconds)",
                "counts": "\(report.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            ])
            return JanitorRunResult(runId: runId, task: task, dryRun: dryRun, report: report, error: nil)
        } catch {
            let reason = DatabaseFailure.describe(error)
            Counter(label: "mediaflow_janitor_runs_total", dimensions: [("task", task.rawValue), ("outcome", "error")]).increment()
            logger.error("janitor task failed", metadata: ["run_id": "\(runId)", "error": "\(reason)"])
            do {
                try await store.finishRun(id: runId, counts: [:], error: reason)
            } catch let recordError {
                logger.error("janitor run not recorded as failed", metadata: ["error": "\(DatabaseFailure.describe(recordError))"])
            }
            throw error
        }
    }

    func perform(_ task: JanitorTaskName, dryRun: Bool, fence: JanitorFence?, logger: Logger) async throws -> JanitorReport {
        switch task {
        case .failedCleanup:
            try await FailedCleanup(store: store, storage: storage, settings: settings, fence: fence, logger: logger)
                .run(dryRun: dryRun)
        case .orphanSweep:
            try await OrphanSweep(
                store: store, storage: storage, uploads: uploads, quotas: quotas, variants: variants, settings: settings,
                fence: fence, logger: logger
            ).run(dryRun: dryRun)
        case .stuckProcessing:
            try await StuckProcessing(store: store, queues: queues, settings: settings, fence: fence, logger: logger)
                .run(dryRun: dryRun)
        case .outboxWatch:
            try await OutboxWatch(store: store, settings: settings, fence: fence, logger: logger).run(dryRun: dryRun)
        case .quotaResync:
            try await QuotaResync(store: store, storage: storage, quotas: quotas, fence: fence, logger: logger).run(dryRun: dryRun)
        case .backfill:
            try await Backfill(store: store, storage: storage, fence: fence, logger: logger).run(dryRun: dryRun)
        }
    }
}
