import Logging
import MediaDomain
import Persistence
import Storage

/// `failed_cleanup`: media failed for longer than the retention go, row first and then every file of their folder
/// (a file left behind by a storage hiccup is the orphan sweep's; a row left pointing at no file never is).
struct FailedCleanup {
    let store: any OperationsStore
    let storage: any BlobStorage
    let settings: JanitorSettings
    let logger: Logger
    static let batch = 200

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: ["media": 0, "files": 0])
        if dryRun {
            for media in try await store.failedMedia(olderThan: settings.failedRetention, limit: 100_000) {
                report.add("media")
                report.add("files", try await storage.list(prefix: StorageKeys.mediaPrefix(ofOriginal: media.storageKey)).count)
            }
            return report
        }
        while true {
            let batch = try await store.failedMedia(olderThan: settings.failedRetention, limit: Self.batch)
            var removedAny = false
            for candidate in batch {
                // Still failed and still old at this moment: a reprocess since the listing keeps it.
                guard let media = try await store.deleteFailed(id: candidate.id, olderThan: settings.failedRetention) else {
                    continue
                }
                removedAny = true
                report.add("media")
                let folder = StorageKeys.mediaPrefix(ofOriginal: media.storageKey)
                do {
                    let files = try await storage.list(prefix: folder)
                    try await storage.deletePrefix(folder)
                    report.add("files", files.count)
                } catch {
                    logger.error("files of a failed media not removed; the orphan sweep will", metadata: [
                        "media_id": "\(media.id)", "folder": "\(folder)", "error": "\(error)",
                    ])
                }
            }
            if batch.count < Self.batch || !removedAny { return report }
        }
    }
}
