import Foundation
import Logging
import MediaDomain
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Testing

import Operations
@testable import Janitor

/// The Janitor's decisions on the in-memory store and storage (the same tasks run on PostgreSQL and disk in the
/// integration and end-to-end suites).
@Suite("Janitor tasks")
struct JanitorTaskTests {
    let logger = Logger(label: "janitor-test")

    func settings(_ change: (inout JanitorSettings) -> Void = { _ in }) -> JanitorSettings {
        var settings = JanitorSettings()
        change(&settings)
        return settings
    }

    func created(_ repository: MemoryMediaRepository, storage: MemoryStorage, format: MediaFormat = .jpeg) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        try await storage.put(key: key, bytes: [1, 2, 3])
        guard case .created(let media) = try await repository.create(NewMedia(
            userId: 7, username: "u", format: format, fileSize: 3, originalFilename: "a", storageKey: key, isPublic: true))
        else { throw CancellationError() }
        return media
    }

    @Test func durationsAndSettingsReadLikeSpecSays() throws {
        #expect(DurationText.parse("90s") == .seconds(90))
        #expect(DurationText.parse("30m") == .seconds(1800))
        #expect(DurationText.parse("6h") == .seconds(21_600))
        #expect(DurationText.parse("7d") == .seconds(604_800))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("12") == .seconds(12))
        #expect(DurationText.parse("1w") == nil && DurationText.parse("-3s") == nil && DurationText.parse("") == nil)
        #expect(DurationText.format(.seconds(604_800)) == "7d" && DurationText.format(.seconds(90)) == "90s")

        let defaults = JanitorSettings()
        #expect(defaults.failedRetention == .seconds(604_800) && defaults.orphanGrace == .seconds(3600))
        #expect(defaults.stuckAfter == [.image: .seconds(900), .audio: .seconds(900), .video: .seconds(7200)])
        #expect(defaults.every[.stuckProcessing] == .seconds(300) && defaults.every[.outboxWatch] == .seconds(60))
        let custom = try JanitorSettings(environment: Environment([
            "MEDIA_JANITOR_ORPHAN_SWEEP_EVERY": "10m", "MEDIA_FAILED_RETENTION": "2d", "MEDIA_STUCK_AFTER": "video=3h",
            "MEDIA_STUCK_REPUBLISH": "5",
        ]))
        #expect(custom.every[.orphanSweep] == .seconds(600) && custom.failedRetention == .seconds(172_800))
        #expect(custom.stuckAfter[.video] == .seconds(10_800) && custom.stuckAfter[.image] == .seconds(900))
        #expect(custom.stuckRepublishLimit == 5)
        #expect(try JanitorSettings(environment: Environment(["MEDIA_STUCK_AFTER": "20m"])).stuckAfter[.video] == .seconds(1200))
        #expect(throws: ConfigurationError.self) { try JanitorSettings(environment: Environment(["MEDIA_ORPHAN_GRACE": "soon"])) }
        #expect(throws: ConfigurationError.self) { try JanitorSettings(environment: Environment(["MEDIA_STUCK_AFTER": "pdf=1h"])) }
    }

    @Test func failedCleanupRemovesOldFailuresWithEveryFileAndKeepsTheRest() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let old = try await created(repository, storage: storage)
        let young = try await created(repository, storage: storage)
        let ready = try await created(repository, storage: storage)
        for media in [old, young] {
            let failed = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "decode_failed", message: "x"), attempts: 1)
            _ = try await repository.apply(.failed(failed), consumer: "t")
        }
        let rendition = StorageKeys.rendition(original: old.storageKey, generation: 1, name: "thumbnail", ext: "jpg")
        try await storage.put(key: rendition, bytes: [9])
        repository.age(id: old.id, by: 8 * 86_400)
        repository.age(id: ready.id, by: 30 * 86_400)  // old but not failed
        let tasks = JanitorTasks(store: repository, storage: storage, settings: settings(), instance: "t", logger: logger)

        let dry = try await tasks.run(.failedCleanup, dryRun: true, trigger: "test")
        #expect(dry.report.counts == ["deleted_media": 1, "deleted_files": 2])
        #expect(try await repository.find(id: old.id) != nil, "a dry run changes nothing")

        let run = try await tasks.run(.failedCleanup, dryRun: false, trigger: "test")
        #expect(run.report.counts == ["deleted_media": 1, "deleted_files": 2])
        #expect(try await repository.find(id: old.id) == nil)
        #expect(try await storage.list(prefix: StorageKeys.mediaPrefix(ofOriginal: old.storageKey)).isEmpty)
        #expect(try await repository.find(id: young.id)?.status == .failed)
        #expect(try await repository.find(id: ready.id) != nil)
        #expect(try await storage.info(key: young.storageKey) != nil)
        let runs = try await repository.janitorRuns(task: "failed_cleanup", limit: 10)
        #expect(runs.count == 2 && runs[0].counts["deleted_media"] == 1 && runs[0].dryRun == false && runs[1].dryRun == true)
    }

    /// Issue 27, defect 7: once a successor took the Janitor lease, a deposed Janitor's writes are refused.
    @Test func aDeposedJanitorsWritesAreRefused() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let media = try await created(repository, storage: storage)
        _ = try await repository.apply(.failed(MediaFailed(
            mediaId: media.id, generation: 1, error: MediaError(code: "decode_failed", message: "x"), attempts: 1)), consumer: "t")
        repository.age(id: media.id, by: 8 * 86_400)
        let tasks = JanitorTasks(store: repository, storage: storage, settings: settings(), instance: "t", logger: logger)
        let deposed = try await repository.takeJanitorLease(holder: "a")
        let successor = try await repository.takeJanitorLease(holder: "b")
        #expect(successor.epoch == deposed.epoch + 1)
        await #expect(throws: JanitorFenceLost.self) {
            try await tasks.run(.failedCleanup, dryRun: false, trigger: "test", fence: deposed)
        }
        #expect(try await repository.find(id: media.id) != nil, "the deposed Janitor deleted nothing")
        #expect(try await storage.info(key: media.storageKey) != nil)
        let run = try await tasks.run(.failedCleanup, dryRun: false, trigger: "test", fence: successor)
        #expect(run.report.counts["deleted_media"] == 1)
        #expect(try await repository.find(id: media.id) == nil)
        let recorded = try await repository.janitorRuns(task: "failed_cleanup", limit: 10)
        #expect(recorded.last?.error?.contains("deposed") == true, "the refused run is recorded with why: \(recorded)")
    }

    @Test func orphanSweepRemovesOnlyOldUnownedFilesAndKeepsTheGenerationBeingMade() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let old = Date().addingTimeInterval(-7200)
        let media = try await created(repository, storage: storage)
        // Reprocessed once: generation 2 is being made right now, generation 1 is left over.
        let failed = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "x", message: "x"), attempts: 1)
        _ = try await repository.apply(.failed(failed), consumer: "t")
        _ = try await repository.reprocess(id: media.id)
        let g1 = StorageKeys.rendition(original: media.storageKey, generation: 1, name: "thumbnail", ext: "jpg")
        let g2 = StorageKeys.rendition(original: media.storageKey, generation: 2, name: "thumbnail", ext: "jpg")
        let deletedMedia = "media/\(UUID().uuidString.lowercased())/original.jpg"
        let freshUpload = "media/\(UUID().uuidString.lowercased())/original.png"
        for key in [g1, g2, deletedMedia, freshUpload] { try await storage.put(key: key, bytes: [1, 2, 3, 4]) }
        for key in [media.storageKey, g1, g2, deletedMedia] { storage.setModified(key: key, to: old) }

        let tasks = JanitorTasks(store: repository, storage: storage, settings: settings(), instance: "t", logger: logger)
        let dry = try await tasks.run(.orphanSweep, dryRun: true, trigger: "test")
        #expect(dry.report.counts["orphans"] == 2 && dry.report.counts["removed"] == 0)
        #expect(storage.keys.count == 5)
        let run = try await tasks.run(.orphanSweep, dryRun: false, trigger: "test")
        #expect(run.report.counts["orphans"] == 2 && run.report.counts["removed"] == 2)
        #expect(run.report.counts["kept_young"] == 1)
        #expect(Set(storage.keys) == [media.storageKey, g2, freshUpload],
                "the row's original and its current generation stay; the old generation and the deleted media's file go")
    }

    @Test func orphanSweepRemovesExpiredResumableUploadsAndBytesNoUploadOwns() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let uploads = MemoryResumableUploadStore()
        let old = Date().addingTimeInterval(-7200)
        func upload(expires: Date, mediaId: Int64? = nil) async throws -> (ResumableUpload, String) {
            let upload = ResumableUpload(id: UUID(), userId: 7, username: "u", filename: "a.mp4", isPublic: true,
                                         idempotencyKey: nil, length: 100, offset: 4, expiresAt: expires, mediaId: mediaId)
            try await uploads.createUpload(upload)
            let key = "uploads/\(upload.id.uuidString.lowercased())/000000000000000-abcd-1"
            try await storage.put(key: key, bytes: [1, 2, 3, 4])
            storage.setModified(key: key, to: old)
            return (upload, key)
        }
        let (expired, expiredKey) = try await upload(expires: Date().addingTimeInterval(-60))
        let (waiting, waitingKey) = try await upload(expires: Date().addingTimeInterval(3600))
        // Finished, but its segment was not removed (the Gateway lost storage for a moment): no upload owns it.
        let (_, leftKey) = try await upload(expires: Date().addingTimeInterval(3600), mediaId: 42)
        let strayOld = "uploads/\(UUID().uuidString.lowercased())/000000000000000-abcd-1"
        let strayYoung = "uploads/\(UUID().uuidString.lowercased())/000000000000000-abcd-1"
        try await storage.put(key: strayOld, bytes: [1])
        storage.setModified(key: strayOld, to: old)
        try await storage.put(key: strayYoung, bytes: [1])

        let tasks = JanitorTasks(store: repository, storage: storage, uploads: uploads, settings: settings(), instance: "t",
                                 logger: logger)
        let dry = try await tasks.run(.orphanSweep, dryRun: true, trigger: "test")
        #expect(dry.report.counts["expired_uploads"] == 1 && storage.keys.count == 5)
        let run = try await tasks.run(.orphanSweep, dryRun: false, trigger: "test")
        #expect(run.report.counts["expired_uploads"] == 1)
        #expect(run.report.counts["upload_orphans"] == 2, "the finished upload's leftover and the old stray: \(run.report.counts)")
        #expect(Set(storage.keys) == [waitingKey, strayYoung], "the waiting upload's bytes and a young stray stay")
        let gone = try await uploads.upload(id: expired.id)
        let kept = try await uploads.upload(id: waiting.id)
        #expect(gone == nil && kept != nil)
        #expect(!storage.keys.contains(expiredKey) && !storage.keys.contains(leftKey))
    }

    @Test func orphanSweepPagesThroughMoreThanOnePage() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let old = Date().addingTimeInterval(-7200)
        for i in 0..<(OrphanSweep.page + 250) {
            let key = String(format: "media/orphan-%05d/original.jpg", i)
            try await storage.put(key: key, bytes: [1])
            storage.setModified(key: key, to: old)
        }
        let run = try await JanitorTasks(store: repository, storage: storage, settings: settings(), instance: "t", logger: logger)
            .run(.orphanSweep, dryRun: false, trigger: "test")
        #expect(run.report.counts["scanned"] == OrphanSweep.page + 250)
        #expect(run.report.counts["removed"] == OrphanSweep.page + 250)
        #expect(storage.keys.isEmpty)
    }

    @Test func stuckMediaIsRepublishedUpToTheLimitThenFailsWithProcessingTimeout() async throws {
        let repository = MemoryMediaRepository()
        let storage = MemoryStorage()
        let media = try await created(repository, storage: storage, format: .mp4)
        let fresh = try await created(repository, storage: storage)
        // Its queue is empty: the job is nowhere (its message lost).
        let tasks = JanitorTasks(
            store: repository, storage: storage, queues: FixedWorkQueueProbe(idle: Set(FileType.allCases)),
            settings: settings { $0.stuckRepublishLimit = 2 }, instance: "t", logger: logger)
        let outboxBefore = repository.outboxEntries.count
        for round in 1...2 {
            repository.age(id: media.id, by: 3 * 3600)  // no event for 3 h: a video is stuck after 2 h
            let run = try await tasks.run(.stuckProcessing, dryRun: false, trigger: "test")
            #expect(run.report.counts == ["stuck": 1, "republished": 1, "failed": 0], "round \(round)")
        }
        #expect(repository.outboxEntries.count == outboxBefore + 2, "the job went out again twice")
        let republished = try repository.outboxEntries.suffix(2).map {
            try EventCoding.decoder().decode(MediaUploaded.self, from: Data($0.body))
        }
        #expect(republished.allSatisfy { $0.mediaId == media.id && $0.generation == 1 }, "same generation")
        #expect(Set(republished.map(\.eventId)).count == 2, "each a new event")
        repository.age(id: media.id, by: 3 * 3600)
        let last = try await tasks.run(.stuckProcessing, dryRun: false, trigger: "test")
        #expect(last.report.counts == ["stuck": 1, "republished": 0, "failed": 1])
        let failed = try #require(try await repository.find(id: media.id))
        #expect(failed.status == .failed && failed.metadata["error"]?["code"] == "processing_timeout")
        #expect(try await repository.find(id: fresh.id)?.status == .processing, "a media that is not stuck is left alone")
    }
}
