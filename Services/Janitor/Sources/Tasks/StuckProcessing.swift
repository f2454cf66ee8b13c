import Logging
import MediaDomain
import Persistence

/// `stuck_processing`: a media whose job went silent (its heartbeat older than its type's limit) or whose job is in no
/// queue at all (a lost message) gets its job republished, same generation, up to the limit; after that it fails with
/// `processing_timeout`. A job waiting in a queue is never stuck, however long the queue (`StuckRule`).
struct StuckProcessing {
    let store: any OperationsStore
    let queues: any WorkQueueProbe
    let settings: JanitorSettings
    let fence: JanitorFence?
    let logger: Logger

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: ["stuck": 0, "republished": 0, "failed": 0])
        let rule = StuckRule(after: settings.stuckAfter, idleQueues: await queues.idleTypes())
        for stuck in try await store.stuckMedia(rule, limit: 1000) {
            let media = stuck.media
            let limit = rule.limit(for: media.fileType)
            report.add("stuck")
            var logger = self.logger
            logger[metadataKey: "media_id"] = "\(media.id)"
            logger[metadataKey: "generation"] = "\(media.generation)"
            if stuck.republishes < settings.stuckRepublishLimit {
                if dryRun {
                    report.add("republished")
                } else if try await store.republishStuck(
                    id: media.id, generation: media.generation, rule: rule, limit: settings.stuckRepublishLimit, fence: fence)
                {
                    report.add("republished")
                    logger.warning("stuck media republished", metadata: ["republish": "\(stuck.republishes + 1)"])
                }
            } else {
                let error = MediaError(
                    code: "processing_timeout",
                    message: "No processing result after \(stuck.republishes + 1) attempts, \(DurationText.format(limit)) each.")
                if dryRun {
                    report.add("failed")
                } else if try await store.failStuck(id: media.id, generation: media.generation, rule: rule, error: error, fence: fence) {
                    report.add("failed")
                    logger.error("stuck media failed with processing_timeout")
                }
            }
        }
        return report
    }
}
