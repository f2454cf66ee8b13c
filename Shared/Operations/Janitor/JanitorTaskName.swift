/// The Janitor's tasks (SPEC §4), by the names operators type and `janitor_runs` records.
public enum JanitorTaskName: String, Sendable, CaseIterable, Hashable {
    case failedCleanup = "failed_cleanup"
    case orphanSweep = "orphan_sweep"
    case stuckProcessing = "stuck_processing"
    case outboxWatch = "outbox_watch"
    case quotaResync = "quota_resync"
    /// Derived fields for media stored before they existed (SPEC §12's placeholders).
    case backfill
}
