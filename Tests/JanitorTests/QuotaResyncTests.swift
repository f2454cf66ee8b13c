import Foundation
import Logging
import Persistence
import ServiceCore
import Storage
import Testing

import Operations
@testable import Janitor

/// `quota_resync` (SPEC §10) on the in-memory quota store and storage: the ledger made to say what storage holds,
/// counters made to follow the ledger, expired reservations given back; and the orphan sweep giving those back too.
@Suite("Janitor: quota_resync")
struct QuotaResyncTests {
    let logger = Logger(label: "janitor-test")

    struct Fixture {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let quotas = MemoryQuotaStore()
        static let matching = "media/aaaa/original.jpg"
        static let resized = "media/bbbb/original.jpg"
        static let untracked = "media/cccc/g1/thumbnail.jpg"
        static let gone = "media/dddd/original.jpg"
        static let elsewhere = "uploads/eeee/part-1"
        static let all = [matching, resized, untracked, gone, elsewhere]

        /// User 7 owns `matching` (right) and `resized` (the ledger says 3 bytes, storage holds 6); user 8 owns `gone`,
        /// which storage does not hold; user 9 owns a key outside `media/`, which the walk cannot judge. The counters
        /// follow the ledger as it is, and one reservation has lapsed.
        init() async throws {
            try await storage.put(key: Self.matching, bytes: [1, 2, 3, 4])
            try await storage.put(key: Self.resized, bytes: [1, 2, 3, 4, 5, 6])
            try await storage.put(key: Self.untracked, bytes: [1])
            quotas.setLedger(key: Self.matching, userId: 7, bytes: 4)
            quotas.setLedger(key: Self.resized, userId: 7, bytes: 3)
            quotas.setLedger(key: Self.gone, userId: 8, bytes: 10)
            quotas.setLedger(key: Self.elsewhere, userId: 9, bytes: 5)
            quotas.setUsed(userId: 7, bytes: 7)
            quotas.setUsed(userId: 8, bytes: 10)
            quotas.setUsed(userId: 9, bytes: 5)
            let lapsed = try await quotas.reserve(
                id: UUID(), userId: 7, bytes: 100, defaultLimit: 1 << 30, expiresAt: Date().addingTimeInterval(-60))
            guard case .reserved = lapsed else { throw CancellationError() }
        }

        func tasks(_ logger: Logger) -> JanitorTasks {
            JanitorTasks(store: repository, storage: storage, quotas: quotas, settings: JanitorSettings(), instance: "t",
                         logger: logger)
        }

        func ledger() async throws -> [String: Int64] {
            try await quotas.ledgerBytes(keys: Self.all)
        }
    }

    @Test func theLedgerIsMadeToSayWhatStorageHoldsAndCountersFollowIt() async throws {
        let fixture = try await Fixture()
        let tasks = fixture.tasks(logger)
        let before = try await fixture.ledger()

        let dry = try await tasks.run(.quotaResync, dryRun: true, trigger: "test")
        #expect(dry.report.counts == ["scanned": 3, "ledger_size_fixed": 1, "ledger_missing": 1], "\(dry.report.counts)")
        #expect(try await fixture.ledger() == before, "a dry run changes nothing")
        #expect(try await fixture.quotas.usage(userId: 7, defaultLimit: 1 << 30).usedBytes == 7)

        let run = try await tasks.run(.quotaResync, dryRun: false, trigger: "test")
        #expect(run.report.counts == [
            "scanned": 3, "ledger_size_fixed": 1, "ledger_missing": 1, "released_reservations": 1, "corrected_counters": 2,
        ], "\(run.report.counts)")
        #expect(try await fixture.ledger() == [Fixture.matching: 4, Fixture.resized: 6, Fixture.elsewhere: 5],
                "the size corrected, the row of the missing file gone, the key outside media/ left alone")
        #expect(try await fixture.quotas.usage(userId: 7, defaultLimit: 1 << 30).usedBytes == 10)
        #expect(try await fixture.quotas.usage(userId: 8, defaultLimit: 1 << 30).usedBytes == 0)
        #expect(try await fixture.quotas.usage(userId: 9, defaultLimit: 1 << 30).usedBytes == 5)
        let recorded = try await fixture.repository.janitorRuns(task: "quota_resync", limit: 10)
        #expect(recorded.count == 2 && recorded.first?.counts["corrected_counters"] == 2 && recorded.first?.dryRun == false)

        let again = try await tasks.run(.quotaResync, dryRun: false, trigger: "test")
        #expect(again.report.counts == [
            "scanned": 3, "ledger_size_fixed": 0, "ledger_missing": 0, "released_reservations": 0, "corrected_counters": 0,
        ], "nothing left to correct: \(again.report.counts)")
    }

    @Test func aDeposedJanitorCorrectsNothing() async throws {
        let fixture = try await Fixture()
        let before = try await fixture.ledger()
        let tasks = fixture.tasks(logger)
        let deposed = try await fixture.repository.takeJanitorLease(holder: "a")
        _ = try await fixture.repository.takeJanitorLease(holder: "b")
        await #expect(throws: JanitorFenceLost.self) {
            try await tasks.run(.quotaResync, dryRun: false, trigger: "test", fence: deposed)
        }
        #expect(try await fixture.ledger() == before)
        #expect(try await fixture.quotas.usage(userId: 8, defaultLimit: 1 << 30).usedBytes == 10)
    }

    @Test func withoutAQuotaStoreThereIsNothingToDo() async throws {
        let run = try await JanitorTasks(
            store: MemoryMediaRepository(), storage: MemoryStorage(), settings: JanitorSettings(), instance: "t", logger: logger
        ).run(.quotaResync, dryRun: false, trigger: "test")
        #expect(run.report.counts.isEmpty)
    }

    @Test func theOrphanSweepGivesBackExpiredReservations() async throws {
        let fixture = try await Fixture()
        let live = try await fixture.quotas.reserve(
            id: UUID(), userId: 7, bytes: 50, defaultLimit: 1 << 30, expiresAt: Date().addingTimeInterval(3600))
        guard case .reserved = live else {
            Issue.record("the live reservation was refused")
            return
        }
        let tasks = fixture.tasks(logger)
        let dry = try await tasks.run(.orphanSweep, dryRun: true, trigger: "test")
        #expect(dry.report.counts["released_reservations"] == nil, "a dry run gives nothing back")
        let run = try await tasks.run(.orphanSweep, dryRun: false, trigger: "test")
        #expect(run.report.counts["released_reservations"] == 1)
        #expect(try await fixture.quotas.usage(userId: 7, defaultLimit: 1 << 30).reservedBytes == 50, "the live one stays")
    }

    @Test func itRunsDailyUnlessConfigured() throws {
        #expect(JanitorSettings().every[.quotaResync] == .seconds(86_400))
        let custom = try JanitorSettings(environment: Environment(["MEDIA_JANITOR_QUOTA_RESYNC_EVERY": "6h"]))
        #expect(custom.every[.quotaResync] == .seconds(21_600))
        #expect(JanitorTaskName(rawValue: "quota_resync") == .quotaResync)
    }
}
