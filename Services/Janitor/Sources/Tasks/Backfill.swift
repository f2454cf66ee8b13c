import Crypto
import Imaging
import Logging
import MediaDomain
import Persistence
import Storage

/// `backfill`: gives media stored before a derived field existed what the processors now compute at `ready`. Today
/// that is SPEC §12's placeholders (`metadata.thumbhash`, `metadata.dominant_color`) and SPEC §13's perceptual hash
/// of images and video posters (`metadata.phash`), made from a stored rendition
/// (an image's `small`, a video's `poster`, an audio file's cover `thumbnail`) rather than the original, so a media
/// costs one read of a few tens of kilobytes and a shrink-on-load decode, not a reprocess.
///
/// Walks ready media without a `thumbhash` (or an image or video without a `phash`) in id order, a page at a time. A media whose picture cannot be read or
/// decoded is counted (`unreadable`) and logged, and is looked at again next run; audio without cover art has nothing
/// to give and is skipped. Writes are guarded (still ready, same generation, still without one) and fenced.
///
/// Then the content hash (SPEC §13 `sha256`) of every media stored before uploads computed it: its original read
/// once, streamed through SHA-256 (`hashed`; an original that cannot be read is `unhashable`, logged, tried next run).
struct Backfill {
    let store: any OperationsStore
    let storage: any BlobStorage
    let fence: JanitorFence?
    let logger: Logger
    static let page = 200
    /// The stored picture a placeholder is made from, by type, best first.
    static let sources: [FileType: [String]] = [.image: ["small", "medium", "thumbnail"], .video: ["poster"], .audio: ["thumbnail"]]

    func run(dryRun: Bool) async throws -> JanitorReport {
        var report = JanitorReport(counts: [
            "scanned": 0, "placeholders": 0, "no_picture": 0, "unreadable": 0, "hashed": 0, "unhashable": 0,
        ])
        try await forEachMedia(store.mediaMissingPlaceholders) { media in
            try await addPlaceholders(to: media, report: &report, dryRun: dryRun)
        }
        try await forEachMedia(store.mediaWithoutContentHash) { media in
            try await hashOriginal(of: media, report: &report, dryRun: dryRun)
        }
        return report
    }

    /// Every media `page` lists, a page at a time in id order (each page starts after the last id of the one before).
    private func forEachMedia(
        _ page: (_ after: Int64, _ limit: Int) async throws -> [Media], _ body: (Media) async throws -> Void
    ) async throws {
        var after: Int64 = 0
        while true {
            let batch = try await page(after, Self.page)
            for media in batch { try await body(media) }
            guard batch.count == Self.page, let last = batch.last else { return }
            after = last.id
        }
    }

    private func addPlaceholders(to media: Media, report: inout JanitorReport, dryRun: Bool) async throws {
        report.add("scanned")
        let names = Self.sources[media.fileType] ?? []
        guard let rendition = names.lazy.compactMap({ media.renditions[$0] }).first else {
            report.add("no_picture")
            return
        }
        let fields: [String: JSONValue]
        do {
            let bytes = try await storage.get(key: rendition.key)
            guard let made = try StoredPicturePlaceholder.make(encoded: bytes) else {
                report.add("unreadable")
                logger.warning("backfill: no placeholder for this media: its picture has bands none can be made of",
                               metadata: ["media_id": "\(media.id)", "key": "\(rendition.key)"])
                return
            }
            fields = media.fileType == .audio ? made.placeholderFields : made.metadataFields
        } catch {
            report.add("unreadable")
            logger.warning("backfill: no placeholder for this media: its stored picture cannot be read", metadata: [
                "media_id": "\(media.id)", "key": "\(rendition.key)", "error": "\(error)",
            ])
            return
        }
        if dryRun {
            report.add("placeholders")
        } else if try await store.addPlaceholders(id: media.id, generation: media.generation, fields: fields, fence: fence) {
            report.add("placeholders")
        }
    }

    private func hashOriginal(of media: Media, report: inout JanitorReport, dryRun: Bool) async throws {
        let sha256: String
        do {
            var hasher = SHA256()
            try await storage.read(key: media.storageKey, range: nil, chunkSize: 1 << 20) { chunk in
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
            sha256 = Hex.lowercase(hasher.finalize())
        } catch {
            report.add("unhashable")
            logger.warning("backfill: no content hash for this media: its original cannot be read", metadata: [
                "media_id": "\(media.id)", "key": "\(media.storageKey)", "error": "\(error)",
            ])
            return
        }
        if dryRun {
            report.add("hashed")
        } else if try await store.addContentHash(id: media.id, sha256: sha256, fence: fence) {
            report.add("hashed")
        }
    }
}
