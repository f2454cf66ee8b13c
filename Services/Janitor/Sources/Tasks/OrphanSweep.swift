import Foundation
import Logging
import MediaDomain
import Persistence
import Storage

/// `orphan_sweep`: stored objects no row owns, older than the grace, go. Storage is walked a page at a time (never
/// listed whole), each page's folders looked up at once. A media owns its original and its current generation's folder, whether it
/// is ready or being processed right now; files of older generations, of deleted media, originals kept after an
/// unknown COMMIT, and writes that were never committed are orphans. Younger files are always kept: an upload's
/// original exists a moment before its row does.
///
/// Resumable uploads past their expiry go too, with their stored bytes (`uploads/<id>/`), and any bytes under
/// `uploads/` older than the grace that no unfinished upload owns; and quota reservations past their expiry (an expired
/// resumable upload's, a dead Gateway's) are given back, so they hold no room for longer than an hour.
///
/// Transform variants (SPEC §12) nobody fetched for `MEDIA_VARIANT_RETENTION` go too: the file first, then its ledger
/// row if it is still unfetched (a fetch in between keeps the row, and the Gateway renders the variant again).
struct OrphanSweep {
    let store: any OperationsStore
    let storage: any BlobStorage
    let uploads: (any ResumableUploadStore)?
    let quotas: (any QuotaStore)?
    /// Transform variants in the ledger; nil where there are none (unit tests of other tasks).
    let variants: (any VariantStore)?
    let settings: JanitorSettings
    /// Checked before each page of deletions: storage has no transaction to carry the fence, so a deposed Janitor
    /// stops within a page (and what it might still remove is an orphan all the same).
    let fence: JanitorFence?
    let logger: Logger
    static let page = 1000

    func run(dryRun: Bool, now: Date = Date()) async throws -> JanitorReport {
        let cutoff = now.addingTimeInterval(-Double(settings.orphanGrace.components.seconds))
        var report = JanitorReport(counts: ["scanned": 0, "orphans": 0, "orphan_bytes": 0, "removed": 0, "kept_young": 0])
        try await storage.listPages(prefix: "media/", pageSize: Self.page) { page in
            let folders = Set(page.compactMap { StorageKeys.mediaFolderName(of: $0.key) })
            let owners = try await store.owners(ofFolders: Array(folders))
            if !dryRun { try await store.checkFence(fence) }
            for blob in page {
                report.add("scanned")
                if let folder = StorageKeys.mediaFolderName(of: blob.key), let owner = owners[folder],
                   Self.isOwned(blob.key, by: owner)
                {
                    continue
                }
                guard blob.modified < cutoff else {
                    report.add("kept_young")
                    continue
                }
                report.add("orphans")
                report.add("orphan_bytes", Int(blob.size))
                guard !dryRun else { continue }
                do {
                    try await storage.delete(key: blob.key)
                    report.add("removed")
                } catch {
                    logger.warning("orphan not removed; the next sweep tries again", metadata: [
                        "key": "\(blob.key)", "error": "\(error)",
                    ])
                }
            }
        }
        if !dryRun { try await store.checkFence(fence) }
        report.counts["removed_abandoned_writes"] = try await storage.sweepAbandonedWrites(olderThan: cutoff, dryRun: dryRun)
        if let uploads { try await sweepUploads(uploads, cutoff: cutoff, now: now, dryRun: dryRun, report: &report) }
        if let quotas, !dryRun {
            try await store.checkFence(fence)
            report.counts["released_reservations"] = try await quotas.releaseExpired()
        }
        if let variants { try await expireVariants(variants, dryRun: dryRun, report: &report) }
        return report
    }

    private func expireVariants(_ variants: any VariantStore, dryRun: Bool, report: inout JanitorReport) async throws {
        let retention = settings.variantRetention
        report.counts["expired_variants"] = 0
        while true {
            let keys = try await variants.expiredVariants(olderThan: retention, limit: Self.page)
            guard !dryRun else {
                report.add("expired_variants", keys.count)
                return
            }
            try await store.checkFence(fence)
            var removed = 0
            for key in keys {
                do {
                    try await storage.delete(key: key)
                    if try await variants.forgetVariant(key: key, olderThan: retention) { removed += 1 }
                } catch {
                    logger.warning("expired variant not removed; the next sweep tries again", metadata: [
                        "key": "\(key)", "error": "\(error)",
                    ])
                }
            }
            report.add("expired_variants", removed)
            // A page that removed nothing would come back the same: stop, the next sweep tries again.
            guard keys.count == Self.page, removed > 0 else { return }
        }
    }

    private func sweepUploads(
        _ uploads: any ResumableUploadStore, cutoff: Date, now: Date, dryRun: Bool, report: inout JanitorReport
    ) async throws {
        report.counts["expired_uploads"] = 0
        report.counts["upload_orphans"] = 0
        for id in try await uploads.expiredUploads(before: now, limit: 10_000) {
            report.add("expired_uploads")
            guard !dryRun else { continue }
            do {
                try await storage.deletePrefix("uploads/\(id.uuidString.lowercased())/")
                try await uploads.deleteUpload(id: id)
            } catch {
                logger.warning("expired upload not removed; the next sweep tries again", metadata: [
                    "upload_id": "\(id)", "error": "\(error)",
                ])
            }
        }
        var owners: [String: Bool] = [:]
        var orphans: [String] = []
        try await storage.listPages(prefix: "uploads/", pageSize: Self.page) { page in
            for blob in page where blob.modified < cutoff {
                let name = blob.key.split(separator: "/").dropFirst().first.map(String.init) ?? ""
                if owners[name] == nil {
                    var unfinished = false
                    if let id = UUID(uuidString: name), let upload = try await uploads.upload(id: id) {
                        unfinished = upload.mediaId == nil
                    }
                    owners[name] = unfinished
                }
                if owners[name] == false { orphans.append(blob.key) }
            }
        }
        for key in orphans {
            report.add("upload_orphans")
            guard !dryRun else { continue }
            do {
                try await storage.delete(key: key)
            } catch {
                logger.warning("upload orphan not removed; the next sweep tries again", metadata: [
                    "key": "\(key)", "error": "\(error)",
                ])
            }
        }
    }

    /// The original, and everything under `g<N>/` for the current generation (or a newer one a reprocess is making).
    static func isOwned(_ key: String, by owner: FolderOwner) -> Bool {
        if key == owner.originalKey { return true }
        let parts = key.split(separator: "/")
        guard parts.count >= 4, parts[2].hasPrefix("g"), let generation = Int(parts[2].dropFirst()) else { return false }
        return generation >= owner.generation
    }
}
