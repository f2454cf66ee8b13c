import Imaging
import Logging
import MediaDomain
import Persistence
import Storage

/// `backfill`: gives media stored before a derived field existed what the processors now compute at `ready`. Today
/// that is SPEC §12's placeholders (`metadata.thumbhash`, `metadata.dominant_color`), made from a stored rendition
/// (an image's `small`, a video's `poster`, an audio file's cover `thumbnail`) rather than the original, so a media
/// costs one read of a few tens of kilobytes and a shrink-on-load decode, not a reprocess.
///
/// Walks ready media without a `thumbhash` in id order, a page at a time. A media whose picture cannot be read or
/// decoded is counted (`unreadable`) and logged, and is looked at again next run; audio without cover art has nothing
/// to give and is skipped. Writes are guarded (still ready, same generation, still without one) and fenced.
struct Backfill {
    let store: any OperationsStore
    let storage: any BlobStorage
    let fence: JanitorFence?
    let logger: Logger
    static let page = 200
    /// The stored picture a placeholder is made from, by type, best first.
    static let sources: [FileType: [String]] = [.image: ["small", "medium", "thumbnail"], .video: ["poster"], .audio: ["thumbnail"]]

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: ["scanned": 0, "placeholders": 0, "no_picture": 0, "unreadable": 0])
        var after: Int64 = 0
        while true {
            let batch = try await store.mediaMissingPlaceholders(after: after, limit: Self.page)
            for media in batch {
                report.add("scanned")
                let names = Self.sources[media.fileType] ?? []
                guard let rendition = names.lazy.compactMap({ media.renditions[$0] }).first else {
                    report.add("no_picture")
                    continue
                }
                let fields: [String: JSONValue]
                do {
                    let bytes = try await storage.get(key: rendition.key)
                    guard let made = try StoredPicturePlaceholder.make(encoded: bytes) else {
                        report.add("unreadable")
                        logger.warning("backfill: no placeholder for this media: its picture has bands none can be made of",
                                       metadata: ["media_id": "\(media.id)", "key": "\(rendition.key)"])
                        continue
                    }
                    fields = made.metadataFields
                } catch {
                    report.add("unreadable")
                    logger.warning("backfill: no placeholder for this media: its stored picture cannot be read", metadata: [
                        "media_id": "\(media.id)", "key": "\(rendition.key)", "error": "\(error)",
                    ])
                    continue
                }
                if dryRun {
                    report.add("placeholders")
                } else if try await store.addPlaceholders(
                    id: media.id, generation: media.generation, fields: fields, fence: fence) {
                    report.add("placeholders")
                }
            }
            guard batch.count == Self.page, let last = batch.last else { break }
            after = last.id
        }
        return report
    }
}
