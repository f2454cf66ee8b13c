import Foundation
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import Testing

@Suite("Media routes: list, detail, stats, patch, delete, reprocess")
struct MediaRoutesTests {
    func create(_ gateway: TestGateway, user: Int64 = 1, format: MediaFormat = .jpeg, isPublic: Bool = true) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: user, username: "user\(user)", format: format, fileSize: Int64(Samples.jpeg.count),
            originalFilename: "x.\(format.canonicalExtension)", storageKey: key, isPublic: isPublic))
        else { throw CancellationError() }
        return media
    }

    @Test func listIsOwnNewestFirstWithFiltersAndAbsolutePaging() async throws {
        let gateway = try TestGateway()
        var created: [Media] = []
        for i in 0..<5 { created.append(try await create(gateway, format: i % 2 == 0 ? .jpeg : .mp3)) }
        let mine = created
        _ = try await create(gateway, user: 2)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/?page_size=2", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .ok)
                let body = try decodeJSON(response.body)
                #expect(body["count"]?.int == 5)
                let ids = body["results"]?.array?.compactMap { $0["id"]?.int }
                #expect(ids == [mine[4].id, mine[3].id])
                #expect(body["previous"]?.isNull == true)
                #expect(body["next"]?.string == "http://media.test/api/media/?page=2&page_size=2")
            }
            try await client.execute(uri: "/api/media/?page=3&page_size=2", method: .get, headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["results"]?.array?.count == 1)
                #expect(body["next"]?.isNull == true)
                #expect(body["previous"]?.string == "http://media.test/api/media/?page=2&page_size=2")
            }
            try await client.execute(uri: "/api/media/?type=audio&status=processing", method: .get, headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["count"]?.int == 2)
                #expect(body["results"]?.array?.allSatisfy { $0["file_type"] == "audio" } == true)
            }
            for bad in ["type=pdf", "status=done", "page=0", "page=x", "page_size=-1"] {
                try await client.execute(uri: "/api/media/?\(bad)", method: .get, headers: gateway.auth()) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    let json49 = try decodeJSON(response.body)
                    #expect(json49["code"]?.string != nil)
                }
            }
            try await client.execute(uri: "/api/media/?page=9", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func statsHaveEveryKeyAndCountOnlyTheCaller() async throws {
        let gateway = try TestGateway()
        _ = try await create(gateway)
        _ = try await create(gateway, format: .mp4)
        _ = try await create(gateway, user: 2)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/stats/", method: .get, headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["total"]?.int == 2)
                #expect(body["by_type"] == ["image": 1, "video": 1, "audio": 0])
                #expect(body["by_status"] == ["ready": 0, "processing": 2, "failed": 0, "uploading": 0])
                #expect(body["total_size"]?.int == Int64(2 * Samples.jpeg.count))
            }
        }
    }

    @Test func anotherUsersPrivateMediaIs404OnEveryRoute() async throws {
        let gateway = try TestGateway()
        let secret = try await create(gateway, user: 2, isPublic: false)
        let shared = try await create(gateway, user: 2, isPublic: true)
        try await gateway.test { client in
            let routes: [(String, HTTPRequest.Method)] = [
                ("/api/media/\(secret.id)/", .get), ("/api/media/\(secret.id)/", .patch),
                ("/api/media/\(secret.id)/", .delete), ("/api/media/\(secret.id)/reprocess/", .post),
                ("/api/media/\(shared.id)/", .patch), ("/api/media/\(shared.id)/", .delete),
                ("/api/media/\(shared.id)/reprocess/", .post), ("/media/\(secret.storageKey)", .get),
                ("/api/media/999999/", .get),
            ]
            for (uri, method) in routes {
                try await client.execute(uri: uri, method: method, headers: gateway.auth(1),
                                         body: ByteBuffer(string: #"{"is_public":true}"#)) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    let json90 = try decodeJSON(response.body)
                    #expect(json90["code"]?.string != nil)
                }
            }
            try await client.execute(uri: "/api/media/\(shared.id)/", method: .get, headers: gateway.auth(1)) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(try await gateway.repository.find(id: secret.id) != nil)
    }

    @Test func patchChangesVisibility() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: gateway.auth(),
                                     body: ByteBuffer(string: #"{"is_public": false}"#)) { response in
                #expect(response.status == .ok)
                let json107 = try decodeJSON(response.body)
                #expect(json107["is_public"] == false)
            }
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: gateway.auth(),
                                     body: ByteBuffer(string: #"{"is_public": "nope"}"#)) { response in
                #expect(response.status == .badRequest)
            }
        }
        #expect(try await gateway.repository.find(id: media.id)?.isPublic == false)
    }

    @Test func deleteRemovesRowAndEveryFile() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        let rendition = StorageKeys.rendition(original: media.storageKey, generation: 1, name: "thumbnail", ext: "jpg")
        try await gateway.storage.put(key: rendition, bytes: [1, 2, 3])
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(media.id)/", method: .delete, headers: gateway.auth()) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/media/\(media.id)/", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .notFound)
            }
        }
        #expect(try await gateway.repository.find(id: media.id) == nil)
        #expect(gateway.storage.keys.isEmpty)
    }

    @Test func reprocessOnlyFailedMediaWithNewGeneration() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(media.id)/reprocess/", method: .post, headers: gateway.auth()) { response in
                #expect(response.status == .conflict)
                let json140 = try decodeJSON(response.body)
                #expect(json140["code"] == "not_failed")
            }
            let failed = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "decode_failed", message: "bad"), attempts: 1)
            #expect(try await gateway.repository.apply(.failed(failed), consumer: "test") == .applied)
            try await client.execute(uri: "/api/media/\(media.id)/", method: .get, headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["status"] == "failed")
                #expect(body["metadata"]?["error"]?["code"] == "decode_failed")
            }
            try await client.execute(uri: "/api/media/\(media.id)/reprocess/", method: .post, headers: gateway.auth()) { response in
                #expect(response.status == .accepted)
                let body = try decodeJSON(response.body)
                #expect(body["status"] == "processing")
                #expect(body["metadata"]?["error"] == nil)
            }
        }
        let events = try gateway.repository.outboxEntries.map { try EventCoding.decoder().decode(MediaUploaded.self, from: Data($0.body)) }
        #expect(events.map(\.generation) == [1, 2])
        // A late event of generation 1 no longer changes the row.
        let stale = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                               bitrate: nil, metadata: [:], processingMs: 5)
        #expect(try await gateway.repository.apply(.ready(stale), consumer: "test") == .ignored)
        #expect(try await gateway.repository.find(id: media.id)?.status == .processing)
    }

    @Test func readyMediaShowsRenditionURLs() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        var renditions: [String: RenditionInfo] = [:]
        for name in RenditionCatalog.names(for: .image) {
            let key = StorageKeys.rendition(original: media.storageKey, generation: 1, name: name, ext: name == "webp" ? "webp" : "jpg")
            renditions[name] = RenditionInfo(key: key, mimeType: "image/jpeg", width: 10, height: 10, fileSize: 3)
        }
        let made = renditions
        let ready = MediaReady(mediaId: media.id, generation: 1, renditions: renditions, width: 4000, height: 3000,
                               duration: nil, bitrate: nil, metadata: ["format": "jpeg"], processingMs: 120)
        #expect(try await gateway.repository.apply(.ready(ready), consumer: "test") == .applied)
        #expect(try await gateway.repository.apply(.ready(ready), consumer: "test") == .duplicate)
        let thumbnailKey = try #require(renditions["thumbnail"]?.key)
        try await gateway.storage.put(key: thumbnailKey, bytes: [0xFF, 0xD8, 0xFF, 1, 2, 3])
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(media.id)/", method: .get, headers: gateway.auth()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["status"] == "ready")
                #expect(body["width"]?.int == 4000 && body["height"]?.int == 3000)
                let medium = "http://media.test/media/\(made["medium"]!.key)"
                #expect(body["display_url"]?.string == medium)
                #expect(body["urls"]?["medium"]?.string == medium)
                #expect(body["thumbnail_url"]?.string == "http://media.test/media/\(made["thumbnail"]!.key)")
                #expect(body["metadata"]?["processing_ms"]?.int == 120)
            }
            try await client.execute(uri: "/media/\(thumbnailKey)", method: .get) { response in
                #expect(response.status == .ok, "a rendition is served like the original")
                #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(Array(response.body.readableBytesView) == [0xFF, 0xD8, 0xFF, 1, 2, 3])
            }
        }
    }
}
