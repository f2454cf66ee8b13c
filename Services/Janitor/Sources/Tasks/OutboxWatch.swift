import Logging
import MediaDomain
import Metrics
import Persistence

/// `outbox_watch`: says when events wait in the outbox too long (the broker or every relay is down), and prunes
/// what was delivered long ago (sent outbox rows, handled-event records, live-status events past their resume window,
/// finished webhook deliveries).
struct OutboxWatch {
    let store: any OperationsStore
    let settings: JanitorSettings
    let fence: JanitorFence?
    let logger: Logger

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport()
        let backlog = try await store.outboxBacklog(olderThan: settings.outboxStaleAfter)
        report.counts["stale_unsent"] = backlog.staleUnsent
        Gauge(label: "mediaflow_outbox_stale_unsent").record(backlog.staleUnsent)
        if backlog.staleUnsent > 0 {
            logger.warning("events wait in the outbox longer than they should; is the broker or every relay down?", metadata: [
                "stale_unsent": "\(backlog.staleUnsent)", "older_than": "\(DurationText.format(settings.outboxStaleAfter))",
                "oldest_seconds": "\(backlog.oldestUnsentAge?.components.seconds ?? 0)",
            ])
        }
        if !dryRun {
            let pruned = try await store.pruneDelivered(olderThan: settings.deliveredRetention, fence: fence)
            report.counts["pruned_outbox"] = pruned.outbox
            report.counts["pruned_inbox"] = pruned.inbox
            // Live status resumes within 24 hours (SPEC §8): events are kept an hour longer than that.
            let live = try await store.pruneLiveStatus(
                eventsOlderThan: .seconds(25 * 3600), deliveriesOlderThan: settings.deliveredRetention, fence: fence)
            report.counts["pruned_events"] = live.events
            report.counts["pruned_deliveries"] = live.deliveries
        }
        return report
    }
}
