import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import Testing

@Suite("Upload: streaming, sniffing, limits (SPEC §1.1)")
struct UploadTests {
    func upload(
        _ gateway: TestGateway, _ client: some TestClientProtocol, filename: String, bytes: [UInt8],
        fields: [(String, String)] = [], user: Int64 = 1, extraHeaders: [(String, String)] = []
    ) async throws -> (status: HTTPResponse.Status, body: [String: JSONValue]) {
        var headers = MultipartBody.headers
        headers.append(contentsOf: gateway.auth(user))
        for (name, value) in extraHeaders { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return try await client.execute(
            uri: "/api/media/upload/", method: .post, headers: headers,
            body: MultipartBody.file(filename: filename, bytes: bytes, fields: fields)
        ) { response in (response.status, try decodeJSON(response.body)) }
    }

    @Test func imageUploadCreatesProcessingMediaStoredFileAndOutboxEvent() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let (status, body) = try await upload(gateway, client, filename: "holiday photo.jpg", bytes: Samples.jpeg,
                                                  fields: [("is_public", "false")])
            #expect(status == .created)
            #expect(body["status"] == "processing")
            #expect(body["file_type"] == "image")
            #expect(body["mime_type"] == "image/jpeg")
            #expect(body["file_size"]?.int == Int64(Samples.jpeg.count))
            #expect(body["original_filename"] == "holiday photo.jpg")
            #expect(body["is_public"] == false)
            #expect(body["user"]?.int == 1)
            #expect(body["user_username"] == "user1")
            for key in ["width", "height", "duration", "bitrate", "thumbnail_url"] { #expect(body[key]?.isNull == true, "\(key)") }
            let urls = try #require(body["urls"]?.objectValue)
            #expect(Set(urls.keys) == ["thumbnail", "small", "medium", "large", "webp", "avif", "original"])
            #expect(urls["thumbnail"]?.isNull == true)
            let original = try #require(urls["original"]?.string)
            #expect(original.hasPrefix("http://media.test/media/media/"))
            #expect(original.contains("?exp=") && original.contains("&sig="), "private media URLs are signed")
            #expect(body["display_url"]?.string == original)
            #expect(body["created_at"]?.string?.hasSuffix("Z") == true)

            let id = try #require(body["id"]?.int)
            let media = try #require(try await gateway.repository.find(id: id))
            #expect(try await gateway.storage.get(key: media.storageKey) == Samples.jpeg)
            let outbox = gateway.repository.outboxEntries
            #expect(outbox.count == 1)
            #expect(outbox.first?.routingKey == "media.uploaded.image")
            let event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(outbox[0].body))
            #expect(event.mediaId == id && event.generation == 1 && event.storageKey == media.storageKey)
        }
    }

    @Test func contentDecidesTheFormatNotTheExtension() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let (status, body) = try await upload(gateway, client, filename: "actually-a-jpeg.png", bytes: Samples.jpeg)
            #expect(status == .created)
            #expect(body["mime_type"] == "image/jpeg")
        }
    }

    @Test func errorsOfSpec() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            var r = try await upload(gateway, client, filename: "photo.jpg", bytes: Samples.pdf)
            #expect(r.status == .unsupportedMediaType && r.body["code"] == "unsupported_media_type")
            r = try await upload(gateway, client, filename: "song.mp4", bytes: Samples.mp3)
            #expect(r.status == .badRequest && r.body["code"] == "type_mismatch")
            r = try await upload(gateway, client, filename: "photo.txt", bytes: Samples.jpeg)
            #expect(r.status == .unsupportedMediaType && r.body["code"] == "unsupported_media_type")
            r = try await upload(gateway, client, filename: "empty.jpg", bytes: [])
            #expect(r.status == .badRequest && r.body["code"] == "empty_file")

            var two = MultipartBody()
            two.addFile(filename: "a.jpg", bytes: Samples.jpeg)
            two.addFile(filename: "b.jpg", bytes: Samples.jpeg)
            var headers = MultipartBody.headers
            headers.append(contentsOf: gateway.auth())
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers, body: two.finished()) { response in
                #expect(response.status == .badRequest)
                let json85 = try decodeJSON(response.body)
                #expect(json85["code"] == "too_many_files")
            }
            var none = MultipartBody()
            none.addField("is_public", "true")
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers, body: none.finished()) { response in
                #expect(response.status == .badRequest)
                let json91 = try decodeJSON(response.body)
                #expect(json91["code"] == "file_missing")
            }
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: gateway.auth(), body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .badRequest)
                let json95 = try decodeJSON(response.body)
                #expect(json95["code"] == "file_missing")
            }
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: MultipartBody.headers,
                                     body: MultipartBody.file(filename: "a.jpg", bytes: Samples.jpeg)) { response in
                #expect(response.status == .unauthorized)
                let json100 = try decodeJSON(response.body)
                #expect(json100["code"] == "not_authenticated")
            }
        }
        #expect(gateway.storage.keys.count == 0, "nothing stored by refused uploads: \(gateway.storage.keys)")
        #expect(gateway.repository.outboxEntries.isEmpty)
    }

    @Test func overTheLimitIs413WithNothingStoredAndExactLimitIsAccepted() async throws {
        let gateway = try TestGateway()
        let limit = 10 * 1_048_576
        let exact = Samples.jpeg + [UInt8](repeating: 0x11, count: limit - Samples.jpeg.count)
        try await gateway.test { client in
            let over = try await upload(gateway, client, filename: "big.jpg", bytes: exact + [0x11])
            #expect(over.status == .contentTooLarge)
            #expect(over.body["code"] == "file_too_large")
            #expect(over.body["detail"] == "File size exceeds maximum allowed size (10 MB for images)")
            #expect(gateway.storage.keys.isEmpty)
            let ok = try await upload(gateway, client, filename: "big.jpg", bytes: exact)
            #expect(ok.status == .created)
            #expect(ok.body["file_size"]?.int == Int64(limit))
        }
    }

    @Test func clientFilenameNeverReachesAPath() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let (status, body) = try await upload(gateway, client, filename: "../../x.jpg", bytes: Samples.jpeg)
            #expect(status == .created)
            #expect(body["original_filename"] == "x.jpg")
            let id = try #require(body["id"]?.int)
            let media = try #require(try await gateway.repository.find(id: id))
            #expect(!media.storageKey.contains(".."))
            #expect(!media.storageKey.contains("x.jpg"))
            #expect(gateway.storage.keys == [media.storageKey])
        }
    }

    @Test func idempotencyKeyMakesRetriesSafePerUser() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let key = [("Idempotency-Key", "retry-7f3a")]
            let first = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg, extraHeaders: key)
            let second = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg, extraHeaders: key)
            let otherUser = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg, user: 2, extraHeaders: key)
            #expect(first.status == .created)
            #expect(second.status == .ok)
            #expect(second.body["id"] == first.body["id"])
            #expect(otherUser.status == .created)
            #expect(otherUser.body["id"] != first.body["id"])
            #expect(gateway.storage.keys.count == 2)
            #expect(gateway.repository.outboxEntries.count == 2)
            let bad = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg,
                                       extraHeaders: [("Idempotency-Key", String(repeating: "k", count: 256))])
            #expect(bad.status == .badRequest && bad.body["code"] == "invalid_idempotency_key")
        }
    }

    /// A retry is answered with the first upload's media only when its own form is valid: before, the replay was
    /// answered before the body was read, so `is_public=null` or a form without a file got 200 (schemathesis ST201).
    @Test func aRetryWithAnInvalidFormIsRefusedLikeAFirstUpload() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let key = [("Idempotency-Key", "retry-b41c")]
            let first = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg, extraHeaders: key)
            #expect(first.status == .created)
            let nullFlag = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg,
                                            fields: [("is_public", "null")], extraHeaders: key)
            #expect(nullFlag.status == .badRequest && nullFlag.body["code"] == "invalid_field")
            let twoFiles = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg,
                                            fields: [("file", "not a file")], extraHeaders: key)
            #expect(twoFiles.status == .badRequest && twoFiles.body["code"] == "too_many_files")
            let valid = try await upload(gateway, client, filename: "a.jpg", bytes: Samples.jpeg,
                                         fields: [("is_public", "true")], extraHeaders: key)
            #expect(valid.status == .ok && valid.body["id"] == first.body["id"])
            #expect(gateway.storage.keys.count == 1)
            #expect(gateway.repository.outboxEntries.count == 1)
        }
    }

    @Test func sniffsEveryFormat() {
        #expect(ContentSniffer.sniff(Samples.jpeg) == .jpeg)
        #expect(ContentSniffer.sniff(Samples.png) == .png)
        #expect(ContentSniffer.sniff(Samples.mp3) == .mp3)
        #expect(ContentSniffer.sniff(Samples.mp4) == .mp4)
        #expect(ContentSniffer.sniff(Samples.pdf) == nil)
        #expect(ContentSniffer.sniff(Array("GIF89a".utf8) + [0, 0]) == .gif)
        #expect(ContentSniffer.sniff(Array("RIFF\0\0\0\0WEBPVP8 ".utf8)) == .webp)
        #expect(ContentSniffer.sniff(Array("RIFF\0\0\0\0WAVEfmt ".utf8)) == .wav)
        #expect(ContentSniffer.sniff(Array("RIFF\0\0\0\0AVI LIST".utf8)) == .avi)
        #expect(ContentSniffer.sniff(Array("OggS".utf8) + [0, 2]) == .ogg)
        #expect(ContentSniffer.sniff([0xFF, 0xF1, 0x50, 0x80]) == .aac)
        #expect(ContentSniffer.sniff([0, 0, 0, 0x1C] + Array("ftypM4A ".utf8)) == .m4a)
        #expect(ContentSniffer.sniff([0, 0, 0, 0x14] + Array("ftypqt  ".utf8)) == .quicktime)
        #expect(ContentSniffer.sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x84] + Array("webm".utf8)) == .webm)
        #expect(ContentSniffer.sniff([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x82, 0x88] + Array("matroska".utf8)) == .matroska)
        #expect(ContentSniffer.sniff(Array("BM".utf8) + [UInt8](repeating: 0, count: 12) + [40, 0, 0, 0] + [UInt8](repeating: 0, count: 12)) == .bmp)
    }
}
