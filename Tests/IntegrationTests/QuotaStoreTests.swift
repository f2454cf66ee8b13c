import Foundation
import MediaDomain
import Persistence
import PostgresNIO
import Testing

/// The quota's reservations and the upload rate's GCRA on the real PostgreSQL, under the races several Gateways make.
@Suite("Quota and upload rate on real PostgreSQL", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct QuotaStoreTests {
    static func user() -> Int64 { Int64.random(in: 10_000_000_000...20_000_000_000) }
    static let later = Date().addingTimeInterval(3600)

    func reserveAtOnce(_ store: PostgresQuotaStore, user: Int64, count: Int, bytes: Int64, defaultLimit: Int64) async throws -> [QuotaReservation] {
        try await withThrowingTaskGroup(of: QuotaReservation.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await store.reserve(id: UUID(), userId: user, bytes: bytes, defaultLimit: defaultLimit, expiresAt: Self.later)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test func theFirstUploadsOfANewUserAtOnceAllFit() async throws {
        // Found in the fault suite: two first uploads of a user at once, one made the counter row and the other,
        // finding it made by someone else, was refused with all its room free.
        try await TestServers.withDatabase(maxConnections: 16) { client, _ in
            let store = PostgresQuotaStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            let answers = try await reserveAtOnce(store, user: user, count: 20, bytes: 1000, defaultLimit: 1 << 20)
            let ids = answers.compactMap { if case .reserved(let id) = $0 { id } else { nil } }
            #expect(ids.count == 20, "\(answers)")
            #expect(try await store.usage(userId: user, defaultLimit: 1 << 20).reservedBytes == 20_000)
            for id in ids { try await store.release(id) }
            try await store.release(ids[0])   // twice: harmless
            #expect(try await store.usage(userId: user, defaultLimit: 1 << 20).reservedBytes == 0)
            #expect(try await store.resyncCounters().filter { $0.userId == user }.isEmpty, "the counter row agrees")
        }
    }

    @Test func fortyReservationsAtOnceNeverTakeMoreThanTheLimit() async throws {
        try await TestServers.withDatabase(maxConnections: 16) { client, _ in
            let store = PostgresQuotaStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            try await store.setLimit(userId: user, limitBytes: 10_000)
            let answers = try await reserveAtOnce(store, user: user, count: 40, bytes: 1000, defaultLimit: 1 << 40)
            #expect(answers.filter { if case .reserved = $0 { true } else { false } }.count == 10)
            let usage = try await store.usage(userId: user, defaultLimit: 1 << 40)
            #expect(usage.reservedBytes == 10_000 && usage.availableBytes == 0 && usage.customLimitBytes == 10_000)
            // A reservation near 2^63 is compared, not added: refused, not an int8 overflow.
            let huge = try await store.reserve(id: UUID(), userId: user, bytes: .max, defaultLimit: 1 << 40, expiresAt: Self.later)
            guard case .refused = huge else { Issue.record("reserved \(huge)"); return }
        }
    }

    @Test func reservationsALostGatewayLeftLapseAndFreeTheirRoom() async throws {
        try await TestServers.withDatabase { client, _ in
            let store = PostgresQuotaStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            let past = Date().addingTimeInterval(-1)
            guard case .reserved = try await store.reserve(id: UUID(), userId: user, bytes: 900, defaultLimit: 1000, expiresAt: past)
            else { Issue.record("the first reservation was refused"); return }
            #expect(try await store.usage(userId: user, defaultLimit: 1000).reservedBytes == 0, "a lapsed one is not shown")
            // The counter still holds the lapsed 900; a reservation that needs the room gives it back first.
            guard case .reserved = try await store.reserve(id: UUID(), userId: user, bytes: 500, defaultLimit: 1000, expiresAt: Self.later)
            else { Issue.record("the lapsed reservation still held its room"); return }
            #expect(try await store.usage(userId: user, defaultLimit: 1000).reservedBytes == 500)
        }
    }

    @Test func theMediaRowsInsertSettlesTheReservationNamedAfterItsFolderAndCountsTheFile() async throws {
        try await TestServers.withDatabase { client, repository in
            let store = PostgresQuotaStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            let folder = UUID()
            guard case .reserved = try await store.reserve(id: folder, userId: user, bytes: 5000, defaultLimit: 1 << 30,
                                                           expiresAt: Self.later)
            else { Issue.record("refused"); return }
            #expect(try await store.usage(userId: user, defaultLimit: 1 << 30).reservedBytes == 5000)
            let created = try await repository.create(NewMedia(
                userId: user, username: "q", format: .jpeg, fileSize: 4321, originalFilename: "a.jpg",
                storageKey: StorageKeys.original(folder: folder.uuidString.lowercased(), format: .jpeg), isPublic: true,
                idempotencyKey: nil, traceparent: nil))
            guard case .created(let media) = created else { Issue.record("\(created)"); return }
            var usage = try await store.usage(userId: user, defaultLimit: 1 << 30)
            #expect(usage.reservedBytes == 0 && usage.usedBytes == 4321, "settled in the row's transaction: \(usage)")
            #expect(try await store.resyncCounters().filter { $0.userId == user }.isEmpty, "the counters agree")
            _ = try await repository.delete(id: media.id, userId: user)
            usage = try await store.usage(userId: user, defaultLimit: 1 << 30)
            #expect(usage.usedBytes == 0)
        }
    }

    /// Transform variants (SPEC §12) in the ledger: counted in the owner's quota, not recorded for a generation the
    /// media has left, dropped by the trigger when a reprocess moves on, and expired only when nobody fetched them.
    @Test func transformVariantsCountInTheQuotaAndGoWithTheirGenerationOrTheirRetention() async throws {
        try await TestServers.withDatabase { client, repository in
            let quotas = PostgresQuotaStore(client: client, logger: TestServers.logger)
            let variants = PostgresVariantStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            let folder = UUID().uuidString.lowercased()
            guard case .created(let media) = try await repository.create(NewMedia(
                userId: user, username: "v", format: .jpeg, fileSize: 1000, originalFilename: "a.jpg",
                storageKey: StorageKeys.original(folder: folder, format: .jpeg), isPublic: true,
                idempotencyKey: nil, traceparent: nil))
            else { Issue.record("not created"); return }
            let ready = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 10, height: 10,
                                   duration: nil, bitrate: nil, metadata: [:], processingMs: 1)
            #expect(try await repository.apply(.ready(ready), consumer: "itest") == .applied)
            let first = "media/\(folder)/g1/variants/w_10-fit_inside-g_centre-q_80.jpg"
            try await variants.recordVariant(key: first, mediaId: media.id, generation: 1, bytes: 300)
            try await variants.recordVariant(key: "media/\(folder)/g7/variants/x.jpg", mediaId: media.id, generation: 7, bytes: 50)
            #expect(try await quotas.usage(userId: user, defaultLimit: 1 << 30).usedBytes == 1300, "the original and one variant")

            // Not expired while fetched; expired (and forgotten) once the retention passed without a fetch.
            #expect(try await !variants.expiredVariants(olderThan: .seconds(3600), limit: 100).contains(first))
            _ = try await client.query("UPDATE stored_objects SET last_fetched_at = now() - interval '2 hours' WHERE key = \(first)", logger: TestServers.logger)
            #expect(try await variants.expiredVariants(olderThan: .seconds(3600), limit: 100).contains(first))
            try await variants.markFetched(keys: [first])
            #expect(try await variants.forgetVariant(key: first, olderThan: .seconds(3600)) == false, "fetched since it was listed")

            // A reprocess (of a failed media: made failed here by hand) moves the media to generation 2: generation
            // 1's variant leaves the ledger and the quota.
            _ = try await client.query("UPDATE media SET status = 'failed' WHERE id = \(media.id)", logger: TestServers.logger)
            guard case .started = try await repository.reprocess(id: media.id, userId: user) else {
                Issue.record("not reprocessed")
                return
            }
            let ledger = try await quotas.ledgerBytes(keys: [first])
            #expect(ledger.isEmpty, "\(ledger)")
            #expect(try await quotas.usage(userId: user, defaultLimit: 1 << 30).usedBytes == 1000)
            #expect(try await quotas.resyncCounters().filter { $0.userId == user }.isEmpty, "the counters agree")
            _ = try await repository.delete(id: media.id, userId: user)
        }
    }

    @Test func theUploadRateIsOneBudgetForEveryConnection() async throws {
        try await TestServers.withDatabase(maxConnections: 8) { client, _ in
            let store = PostgresUploadRateStore(client: client, logger: TestServers.logger)
            let user = Self.user()
            let rate = UploadRate(count: 60, perSeconds: 3600)   // no refill between the statements, however slow
            let decisions = try await withThrowingTaskGroup(of: RateDecision.self) { group in
                for _ in 0..<8 { group.addTask { try await store.take(userId: user, rate: rate, burst: 5) } }
                return try await group.reduce(into: [RateDecision]()) { $0.append($1) }
            }
            #expect(decisions.filter(\.allowed).count == 5, "\(decisions)")
            for refused in decisions where !refused.allowed {
                #expect(refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= 60 && refused.remaining == 0)
                #expect(refused.resetSeconds > 240 && refused.resetSeconds <= 300, "\(refused)")
            }
            #expect(Set(decisions.filter(\.allowed).map(\.remaining)) == [0, 1, 2, 3, 4])
        }
    }
}
