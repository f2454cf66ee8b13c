import Logging
import MediaDomain
import Persistence
import ServiceCore
import ServiceKit
import Storage

/// `failed_cleanup`: media failed for longer than the retention go, row first and then every file of their folder
/// (a file left behind by a storage hiccup is the orphan sweep's; a row left pointing at no file never is).
struct FailedCleanup {
    let store: any OperationsStore
    let storage: any BlobStorage
    let settings: JanitorSettings
    /// The acting Janitor's fencing token (nil for a run outside the scheduler, such as a unit test's).
    let fence: JanitorFence?
    let logger: Logger
    static let batch = 200

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: ["deleted_media": 0, "deleted_files": 0])
        if dryRun {
            for media in try await store.failedMedia(olderThan: settings.failedRetention, limit: 100_000) {
                report.add("deleted_media")
                report.add("deleted_files", try await storage.list(prefix: StorageKeys.mediaPrefix(ofOriginal: media.storageKey)).count)
            }
            return report
        }
        while true {
            let batch = try await store.failedMedia(olderThan: settings.failedRetention, limit: Self.batch)
            var removedAny = false
            for candidate in batch {
                // Still failed and still old at this moment: a reprocess since the listing keeps it.
                guard let media = try await store.deleteFailed(id: candidate.id, olderThan: settings.failedRetention, fence: fence) else {
                    continue
                }
                removedAny = true
                report.add("deleted_media")
                let files = await storage.removeMediaFiles(
                    of: media, unlessUsedBy: store, why: "failed media \(media.id) past its retention", logger: logger)
                report.add("deleted_files", files ?? 0)
            }
            if batch.count < Self.batch || !removedAny { return report }
        }
    }
}
