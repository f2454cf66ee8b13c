import Logging
import MediaDomain
import Persistence

/// `stuck_processing`: a media processing with no event for longer than its type's limit (a lost message, a worker
/// that died mid-job with its delivery acknowledged) gets its job republished, same generation, up to the limit;
/// after that it fails with `processing_timeout`. Progress events count as life: a long video that reports
/// progress is never stuck.
struct StuckProcessing {
    let store: any OperationsStore
    let settings: JanitorSettings
    let logger: Logger

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: ["stuck": 0, "republished": 0, "failed": 0])
        for stuck in try await store.stuckMedia(stuckAfter: settings.stuckAfter, limit: 1000) {
            let media = stuck.media
            let limit = settings.stuckAfter[media.fileType] ?? .seconds(900)
            report.add("stuck")
            var logger = self.logger
            logger[metadataKey: "media_id"] = "\(media.id)"
            logger[metadataKey: "generation"] = "\(media.generation)"
            if stuck.republishes < settings.stuckRepublishLimit {
                if dryRun {
                    report.add("republished")
                } else if try await store.republishStuck(
                    id: media.id, generation: media.generation, stuckAfter: limit, limit: settings.stuckRepublishLimit)
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
                } else if try await store.failStuck(id: media.id, generation: media.generation, stuckAfter: limit, error: error) {
                    report.add("failed")
                    logger.error("stuck media failed with processing_timeout")
                }
            }
        }
        return report
    }
}
