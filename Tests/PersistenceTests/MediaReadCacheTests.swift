import Foundation
import MediaDomain
import Persistence
import Synchronization
import TestSupport
import Testing

@Suite("Read cache: what may be stored and when it goes")
struct MediaReadCacheTests {
    func media(_ id: Int64, user: Int64 = 7, isPublic: Bool = true) -> Media {
        Media(id: id, userId: user, username: "u", fileType: .image, status: .processing, fileSize: 10, mimeType: "image/jpeg",
              format: .jpeg, originalFilename: "a.jpg", storageKey: "media/x\(id)/original.jpg", isPublic: isPublic,
              createdAt: Date(), updatedAt: Date())
    }

    @Test func nothingIsCachedUntilTheChangeListenerSwitchesItOn() {
        let cache = MediaReadCache()
        cache.store(media(1), ticket: cache.ticket())
        #expect(cache.media(id: 1) == nil)
        cache.enable()
        cache.store(media(1), ticket: cache.ticket())
        #expect(cache.media(id: 1)?.id == 1)
        cache.disable()
        #expect(cache.media(id: 1) == nil, "switching off forgets everything")
    }

    @Test func aReadThatRacedAChangeCannotStoreWhatItRead() {
        let cache = MediaReadCache()
        cache.enable()
        let ticket = cache.ticket()               // the read starts...
        cache.invalidate(mediaId: 1, userId: 7)   // ...the row changes meanwhile...
        cache.store(media(1), ticket: ticket)     // ...and what the read saw is already stale.
        #expect(cache.media(id: 1) == nil)
        // A change of another media does not stop a detail read from storing; it does stop the user's list and stats.
        let second = cache.ticket()
        cache.invalidate(mediaId: 2, userId: 7)
        cache.store(media(1), ticket: second)
        #expect(cache.media(id: 1)?.id == 1)
        cache.store(MediaStats(total: 3), userId: 7, ticket: second)
        cache.store((count: 1, items: [media(1)]), for: MediaQuery(userId: 7), ticket: second)
        #expect(cache.stats(userId: 7) == nil)
        #expect(cache.page(MediaQuery(userId: 7)) == nil)
    }

    @Test func aChangeDropsTheMediaAndEveryEntryOfItsUserOnly() {
        let cache = MediaReadCache()
        cache.enable()
        let ticket = cache.ticket()
        cache.store(media(1, user: 7), ticket: ticket)
        cache.store(media(2, user: 8), ticket: ticket)
        cache.store(MediaStats(total: 1), userId: 7, ticket: ticket)
        cache.store(MediaStats(total: 1), userId: 8, ticket: ticket)
        cache.store((count: 1, items: [media(1)]), for: MediaQuery(userId: 7, fileType: .image), ticket: ticket)
        cache.invalidate(mediaId: 3, userId: 7)   // a new media of user 7
        #expect(cache.media(id: 1) != nil, "other media of the user keep their entries")
        #expect(cache.stats(userId: 7) == nil && cache.page(MediaQuery(userId: 7, fileType: .image)) == nil)
        #expect(cache.stats(userId: 8)?.total == 1 && cache.media(id: 2) != nil, "other users keep theirs")
        cache.invalidate(mediaId: 2, userId: nil)
        #expect(cache.media(id: 2) == nil)
        cache.invalidateAll()
        #expect(cache.media(id: 1) == nil && cache.stats(userId: 8) == nil)
    }

    @Test func entriesExpire() async throws {
        let cache = MediaReadCache(lifetime: .milliseconds(50))
        cache.enable()
        cache.store(media(1), ticket: cache.ticket())
        #expect(cache.media(id: 1) != nil)
        try await Task.sleep(for: .milliseconds(80))
        #expect(cache.media(id: 1) == nil)
    }

    @Test func theRepositoryReadsItsOwnWritesAtOnce() async throws {
        let base = MemoryMediaRepository()
        let cache = MediaReadCache()
        cache.enable()
        let repository = CachingMediaRepository(base: base, cache: cache)
        guard case .created(let created) = try await repository.create(NewMedia(
            userId: 7, username: "u", format: .jpeg, fileSize: 10, originalFilename: "a.jpg",
            storageKey: "media/a/original.jpg", isPublic: true))
        else { Issue.record("not created"); return }
        #expect(try await repository.find(id: created.id)?.isPublic == true)
        #expect(try await repository.stats(userId: 7).total == 1)
        #expect(try await repository.list(MediaQuery(userId: 7)).count == 1)
        _ = try await repository.setPublic(id: created.id, userId: 7, isPublic: false)
        #expect(try await repository.find(id: created.id)?.isPublic == false)
        let failed = MediaFailed(mediaId: created.id, generation: 1, error: MediaError(code: "x", message: "x"), attempts: 1)
        _ = try await repository.apply(.failed(failed), consumer: "t")
        #expect(try await repository.find(id: created.id)?.status == .failed)
        #expect(try await repository.stats(userId: 7).byStatus[.failed] == 1)
        _ = try await repository.delete(id: created.id, userId: 7)
        #expect(try await repository.find(id: created.id) == nil)
        #expect(try await repository.stats(userId: 7).total == 0)
        #expect(try await repository.list(MediaQuery(userId: 7)).items.isEmpty)
    }

    @Test func aFoldDropsTheOwnersStatsAndPagesEvenWhenTheMediaWasNeverRead() async throws {
        let base = MemoryMediaRepository()
        let cache = MediaReadCache()
        cache.enable()
        let repository = CachingMediaRepository(base: base, cache: cache)
        guard case .created(let created) = try await base.create(NewMedia(
            userId: 7, username: "u", format: .jpeg, fileSize: 10, originalFilename: "a.jpg",
            storageKey: "media/b/original.jpg", isPublic: true))
        else { Issue.record("not created"); return }
        #expect(try await repository.stats(userId: 7).byStatus[.processing] == 1)
        #expect(cache.media(id: created.id) == nil, "only the stats are cached, not the media")
        let ready = MediaReady(mediaId: created.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                               bitrate: nil, metadata: [:], processingMs: 1)
        #expect(try await repository.apply(.ready(ready), consumer: "t") == .applied)
        #expect(try await repository.stats(userId: 7).byStatus[.ready] == 1, "the fold dropped the owner's stats")
    }

    /// Issue 27, defect 10 (the first list page's p99): 32 clients asking for a page nobody has cached cost one read
    /// of the database, not 32; and one who asks after a change gets a read of its own, never the older one.
    @Test func aMissIsLoadedOnceForEveryoneWhoAsksAtTheSameMoment() async throws {
        let base = SlowCountingRepository()
        let cache = MediaReadCache()
        cache.enable()
        let repository = CachingMediaRepository(base: base, cache: cache)
        let query = MediaQuery(userId: 7, fileType: nil, status: nil, offset: 0, limit: 20)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<32 { group.addTask { try await repository.list(query).count } }
            for try await count in group { #expect(count == 0) }
        }
        #expect(base.lists.withLock { $0 } == 1, "one read of the database for 32 askers")
        // A change while a load runs: who asks after it reads again.
        cache.invalidateAll()
        async let first = repository.list(query)
        // Once the first load is under way (it has reached the database), the change.
        try #require(await eventually(timeout: .seconds(10), interval: .milliseconds(1)) { base.lists.withLock { $0 } == 2 })
        cache.invalidate(mediaId: 1, userId: 7)
        async let second = repository.list(query)
        _ = try await (first, second)
        #expect(base.lists.withLock { $0 } == 3, "the asker after the change did not join the older read")
    }
}

/// A repository whose list takes 100 ms and counts its calls.
final class SlowCountingRepository: MediaRepository {
    let lists = Mutex(0)
    let base = MemoryMediaRepository()
    func create(_ new: NewMedia) async throws -> CreateMediaResult { try await base.create(new) }
    func find(id: Int64) async throws -> Media? { try await base.find(id: id) }
    func find(userId: Int64, idempotencyKey: String) async throws -> Media? { try await base.find(userId: userId, idempotencyKey: idempotencyKey) }
    func find(storagePrefix prefix: String) async throws -> Media? { try await base.find(storagePrefix: prefix) }
    func isFolderInUse(_ folderName: String) async throws -> Bool { try await base.isFolderInUse(folderName) }
    func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media]) {
        lists.withLock { $0 += 1 }
        try await Task.sleep(for: .milliseconds(100))
        return try await base.list(query)
    }
    func stats(userId: Int64) async throws -> MediaStats { try await base.stats(userId: userId) }
    func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media? {
        try await base.setPublic(id: id, userId: userId, isPublic: isPublic)
    }
    func delete(id: Int64, userId: Int64) async throws -> Media? { try await base.delete(id: id, userId: userId) }
    func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult { try await base.reprocess(id: id, userId: userId) }
    func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult { try await base.apply(outcome, consumer: consumer) }
}
