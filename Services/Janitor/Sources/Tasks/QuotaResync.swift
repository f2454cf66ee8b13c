import Foundation
import Logging
import Persistence
import Storage

/// `quota_resync` (SPEC §10): makes the quota figures say what storage holds. Used bytes follow the stored-object
/// ledger by themselves (triggers), so what can drift is the ledger against storage (a file whose real size is not
/// what its row said, a file gone that a row still names) and, after a fault, a counter against the ledger. In turn:
///
/// 1. reservations past their expiry are given back (a Gateway that died mid-upload);
/// 2. storage under `media/` is walked a page at a time (never listed whole), each page's keys looked up in the ledger
///    at once: a ledger row whose size differs from the file's is to be corrected;
/// 3. the ledger is paged through in key order: a row older than the walk (so its file was stored before the walk
///    began: files are stored before their rows) naming a key the walk did not see is to be removed;
/// 4. the ledger is corrected, then every user's counters are set to what the ledger and the live reservations say,
///    each counter that was off logged and counted.
///
/// A dry run reports what would change and writes nothing (no reservation released, no counter fixed).
struct QuotaResync {
    let store: any OperationsStore
    let storage: any BlobStorage
    /// Nil where the Janitor has no quota store (unit tests of other tasks): then there is nothing to do.
    let quotas: (any QuotaStore)?
    /// Checked before each write: the quota store's writes carry no fence of their own, so a deposed Janitor stops
    /// before it changes anything (and what it would change is a correction all the same).
    let fence: JanitorFence?
    let logger: Logger
    static let page = 1000
    /// Ledger rows younger than this before the walk began are left to the next run: their file may have been stored
    /// while the walk was under way, and the Janitor's clock and PostgreSQL's may differ a little.
    static let settle: TimeInterval = 600
    /// Ledger discrepancies logged one by one per run; beyond, one line says how many more.
    static let loggedPerKind = 100

    func run(dryRun: Bool, now: Date = Date()) async throws -> JanitorReport {
        guard let quotas else {
            logger.notice("quota_resync has no quota store here; nothing to do")
            return JanitorReport()
        }
        var report = JanitorReport(counts: ["scanned": 0, "ledger_size_fixed": 0, "ledger_missing": 0])
        if !dryRun {
            try await store.checkFence(fence)
            report.counts["released_reservations"] = try await quotas.releaseExpired()
        }

        // Storage against the ledger: every key seen, and the ledger rows whose size is not the file's.
        let before = now.addingTimeInterval(-Self.settle)
        var seen = Set<String>()
        var sizes: [String: Int64] = [:]
        try await storage.listPages(prefix: "media/", pageSize: Self.page) { page in
            let ledger = try await quotas.ledgerBytes(keys: page.map(\.key))
            for blob in page {
                report.add("scanned")
                seen.insert(blob.key)
                guard let recorded = ledger[blob.key], recorded != blob.size else { continue }
                sizes[blob.key] = blob.size
                if sizes.count <= Self.loggedPerKind {
                    logger.warning("stored-object ledger size differs from the file in storage", metadata: [
                        "key": "\(blob.key)", "was": "\(recorded)", "now": "\(blob.size)",
                    ])
                }
            }
        }

        // The ledger against storage: rows naming a file the walk did not find. Only keys under `media/` are judged
        // (the walk saw nothing else).
        var missing: [String] = []
        var after = ""
        while true {
            let keys = try await quotas.ledgerKeys(after: after, before: before, limit: Self.page)
            for key in keys where key.hasPrefix("media/") && !seen.contains(key) {
                missing.append(key)
                if missing.count <= Self.loggedPerKind {
                    logger.warning("stored-object ledger names a file storage does not hold", metadata: ["key": "\(key)"])
                }
            }
            guard keys.count == Self.page, let last = keys.last else { break }
            after = last
        }
        let unlogged = max(0, sizes.count - Self.loggedPerKind) + max(0, missing.count - Self.loggedPerKind)
        if unlogged > 0 {
            logger.warning("more stored-object ledger rows differ from storage than are logged one by one", metadata: [
                "not_logged": "\(unlogged)", "sizes": "\(sizes.count)", "missing": "\(missing.count)",
            ])
        }
        report.counts["ledger_size_fixed"] = sizes.count
        report.counts["ledger_missing"] = missing.count
        guard !dryRun else { return report }

        var changed = 0
        let sized = Array(sizes.keys)
        for start in stride(from: 0, to: sized.count, by: Self.page) {
            let keys = sized[start..<min(start + Self.page, sized.count)]
            var batch: [String: Int64] = [:]
            for key in keys { batch[key] = sizes[key] }
            try await store.checkFence(fence)
            changed += try await quotas.correctLedger(sizes: batch, missing: [])
        }
        for start in stride(from: 0, to: missing.count, by: Self.page) {
            try await store.checkFence(fence)
            changed += try await quotas.correctLedger(
                sizes: [:], missing: Array(missing[start..<min(start + Self.page, missing.count)]))
        }
        if changed > 0 { logger.notice("stored-object ledger corrected", metadata: ["rows": "\(changed)"]) }

        try await store.checkFence(fence)
        let corrections = try await quotas.resyncCounters()
        for correction in corrections {
            logger.warning("quota counter corrected", metadata: [
                "user_id": "\(correction.userId)", "field": "\(correction.field)",
                "was": "\(correction.was)", "now": "\(correction.now)",
            ])
        }
        report.counts["corrected_counters"] = corrections.count
        return report
    }
}
