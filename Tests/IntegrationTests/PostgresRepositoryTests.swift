import Foundation
import MediaDomain
import Persistence
import Testing

/// The repository against the real PostgreSQL: every SQL statement runs for real.
@Suite("PostgreSQL repository", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct PostgresRepositoryTests {
    /// A user id no other test uses, so tests can share one database.
    static func freshUser() -> Int64 { Int64.random(in: 1_000_000...9_000_000_000) }

    func newMedia(_ user: Int64, format: MediaFormat = .jpeg, key: String? = nil, idempotencyKey: String? = nil) -> NewMedia {
        NewMedia(userId: user, username: "u\(user)", format: format, fileSize: 1234, originalFilename: "a.jpg",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format),
                 isPublic: false, idempotencyKey: idempotencyKey)
    }

    @Test func createWritesRowAndOutboxInOneTransaction() async throws {
        try await TestServers.withDatabase { client, repo in
            let user = Self.freshUser()
            guard case .created(let media) = try await repo.create(newMedia(user)) else { Issue.record("not created"); return }
            #expect(media.status == .processing && media.generation == 1 && media.fileType == .image)
            var found = false
            for try await (key, body) in try await client.query(
                "SELECT routing_key, convert_from(body, 'UTF8') FROM outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'media_id' = \(String(media.id))"
            ).decode((String, String).self) {
                #expect(key == "media.uploaded.image")
                let event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(body.utf8))
                #expect(event.mediaId == media.id && event.storageKey == media.storageKey)
                found = true
            }
            #expect(found, "outbox row of the upload")
            #expect(try await repo.find(id: media.id) == media)
            #expect(try await repo.find(storagePrefix: StorageKeys.mediaPrefix(ofOriginal: media.storageKey))?.id == media.id)
        }
    }

    /// A pool of one used to trap in postgres-nio (its minimum of 2 above the maximum) once a connection came back.
    @Test func poolOfOneServesQueryAfterQuery() async throws {
        try await TestServers.withDatabase(maxConnections: 1) { _, repository in
            for _ in 0..<3 { try await repository.ping() }
            #expect(try await repository.find(id: -1) == nil)
        }
    }

    @Test func idempotencyKeyPerUser() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            guard case .created(let first) = try await repo.create(newMedia(user, idempotencyKey: "k1")) else { Issue.record("first"); return }
            #expect(try await repo.create(newMedia(user, idempotencyKey: "k1")) == .existing(first))
            guard case .created = try await repo.create(newMedia(user + 1, idempotencyKey: "k1")) else { Issue.record("other user"); return }
        }
    }

    @Test func listStatsDeleteAndReprocess() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            var ids: [Int64] = []
            for format in [MediaFormat.jpeg, .mp4, .mp3] {
                guard case .created(let m) = try await repo.create(newMedia(user, format: format)) else { return }
                ids.append(m.id)
            }
            let page = try await repo.list(MediaQuery(userId: user, offset: 0, limit: 2))
            #expect(page.count == 3)
            #expect(page.items.map(\.id) == [ids[2], ids[1]])
            #expect(try await repo.list(MediaQuery(userId: user, fileType: .video)).items.map(\.id) == [ids[1]])
            let stats = try await repo.stats(userId: user)
            #expect(stats.total == 3 && stats.byType[.audio] == 1 && stats.byStatus[.processing] == 3 && stats.totalSize == 3 * 1234)

            #expect(try await repo.reprocess(id: ids[0], userId: user) == .notFailed(try #require(try await repo.find(id: ids[0]))))
            let failed = MediaFailed(mediaId: ids[0], generation: 1, error: MediaError(code: "decode_failed", message: "x"), attempts: 1)
            #expect(try await repo.apply(.failed(failed), consumer: "itest") == .applied)
            guard case .started(let again) = try await repo.reprocess(id: ids[0], userId: user) else { Issue.record("reprocess"); return }
            #expect(again.generation == 2 && again.status == .processing && again.metadata["error"] == nil)
            #expect(try await repo.reprocess(id: ids[0], userId: user + 1) == .notFound)

            #expect(try await repo.delete(id: ids[1], userId: user + 1) == nil)
            #expect(try await repo.delete(id: ids[1], userId: user)?.id == ids[1])
            #expect(try await repo.find(id: ids[1]) == nil)
        }
    }

    @Test func foldIsOnceAndGenerationGuarded() async throws {
        try await TestServers.withDatabase { _, repo in
            let user = Self.freshUser()
            guard case .created(let media) = try await repo.create(newMedia(user)) else { return }
            let renditions = ["medium": RenditionInfo(key: "media/x/g1/medium.jpg", mimeType: "image/jpeg", width: 640, height: 480, fileSize: 10)]
            let ready = MediaReady(mediaId: media.id, generation: 1, renditions: renditions, width: 4000, height: 3000,
                                   duration: nil, bitrate: nil, metadata: ["format": "jpeg", "gps": "52N"], processingMs: 99)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .applied)
            #expect(try await repo.apply(.ready(ready), consumer: "itest") == .duplicate)
            let row = try #require(try await repo.find(id: media.id))
            #expect(row.status == .ready && row.width == 4000 && row.renditions == renditions)
            #expect(row.metadata["processing_ms"] == 99 && row.metadata["gps"] == nil)

            // A late failure of the same generation does not undo ready; an old generation is ignored.
            let lateFailure = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "x", message: "y"), attempts: 3)
            #expect(try await repo.apply(.failed(lateFailure), consumer: "itest") == .ignored)
            let old = MediaReady(mediaId: media.id, generation: 0, renditions: [:], width: 1, height: 1, duration: nil,
                                 bitrate: nil, metadata: [:], processingMs: 1)
            #expect(try await repo.apply(.ready(old), consumer: "itest") == .ignored)
            #expect(try await repo.find(id: media.id)?.width == 4000)
            // Deleted media: ignored.
            _ = try await repo.delete(id: media.id, userId: user)
            let afterDelete = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                                         bitrate: nil, metadata: [:], processingMs: 1)
            #expect(try await repo.apply(.ready(afterDelete), consumer: "itest") == .ignored)
        }
    }
}
