import Foundation
import Logging
import MediaDomain
import Persistence
import Storage

/// `orphan_sweep`: stored objects no row owns, older than the grace, go. Storage is listed in pages (never whole),
/// each page's folders looked up at once. A media owns its original and its current generation's folder, whether it
/// is ready or being processed right now; files of older generations, of deleted media, originals kept after an
/// unknown COMMIT, and writes that were never committed are orphans. Younger files are always kept: an upload's
/// original exists a moment before its row does.
struct OrphanSweep {
    let store: any OperationsStore
    let storage: any BlobStorage
    let settings: JanitorSettings
    let logger: Logger
    static let page = 1000

    func run(dryRun: Bool, now: Date = Date()) async throws -> JanitorReport {
        let cutoff = now.addingTimeInterval(-Double(settings.orphanGrace.components.seconds))
        var report = JanitorReport(counts: ["scanned": 0, "orphans": 0, "orphan_bytes": 0, "removed": 0, "kept_young": 0])
        var after: String?
        while true {
            let page = try await storage.listPage(prefix: "media/", startAfter: after, limit: Self.page)
            guard let last = page.last else { break }
            after = last.key
            let folders = Set(page.compactMap { Self.folder(of: $0.key) })
            let owners = try await store.owners(ofFolders: Array(folders))
            for blob in page {
                report.add("scanned")
                if let folder = Self.folder(of: blob.key), let owner = owners[folder], Self.isOwned(blob.key, by: owner) {
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
        report.counts["abandoned_writes"] = try await storage.sweepAbandonedWrites(olderThan: cutoff, dryRun: dryRun)
        return report
    }

    /// `media/<folder>/…` → `<folder>`.
    static func folder(of key: String) -> String? {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "media", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// The original, and everything under `g<N>/` for the current generation (or a newer one a reprocess is making).
    static func isOwned(_ key: String, by owner: FolderOwner) -> Bool {
        if key == owner.originalKey { return true }
        let parts = key.split(separator: "/")
        guard parts.count >= 4, parts[2].hasPrefix("g"), let generation = Int(parts[2].dropFirst()) else { return false }
        return generation >= owner.generation
    }
}
