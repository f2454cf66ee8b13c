import Foundation
import GatewayImages
import GatewayKit
import Hummingbird
import HummingbirdTesting
import Imaging
import MediaDomain
import Persistence
import Storage
import Synchronization
import Testing
import TestSupport

/// Transforms on request (SPEC §12) over the in-memory store and storage, rendered by the real libvips: every bad
/// input is a 4xx with its code and no render, a good URL renders once, is stored and is then served from storage.
@Suite("Transforms on request: /img/ and transform-url (SPEC §12)")
struct TransformTests {
    static let keys = "first-key-of-the-test,second-key-of-the-test"

    /// A 1600x1200 JPEG made by the ffmpeg CLI (the test's tool).
    static let photo: [UInt8] = {
        let path = NSTemporaryDirectory() + "transform-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try? runCapturing("/usr/bin/env", ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                                "testsrc2=size=1600x1200", "-frames:v", "1", "-q:v", "3", path])
        return FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
    }()

    func gateway(keys: String? = TransformTests.keys) throws -> TestGateway {
        try TestGateway(environment: keys.map { ["MEDIA_TRANSFORM_KEY": $0] } ?? [:])
    }

    /// A ready image (original 1600x1200 stored; `large` too when asked), or a video whose poster is that picture.
    func ready(_ gateway: TestGateway, user: Int64 = 1, isPublic: Bool = true, format: MediaFormat = .jpeg,
               storeOriginal: Bool = true, large: Bool = false) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        if storeOriginal { try await gateway.storage.put(key: key, bytes: Self.photo) }
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: user, username: "user\(user)", format: format, fileSize: Int64(Self.photo.count),
            originalFilename: "x.\(format.canonicalExtension)", storageKey: key, isPublic: isPublic))
        else { throw CancellationError() }
        var renditions: [String: RenditionInfo] = [:]
        if format == .mp4 || large {
            let name = format == .mp4 ? "poster" : "large"
            let picture = try ImageTransformer.render(file: try Self.file(Self.photo), sourceWidth: 1600, sourceHeight: 1200,
                                                      ImageTransform(width: 1080, height: nil, fit: .inside, output: .jpeg, quality: 85))
            let renditionKey = StorageKeys.rendition(original: key, generation: 1, name: name, ext: "jpg")
            try await gateway.storage.put(key: renditionKey, bytes: picture.data)
            renditions[name] = RenditionInfo(key: renditionKey, mimeType: "image/jpeg", width: picture.width,
                                             height: picture.height, fileSize: Int64(picture.data.count))
        }
        let outcome = MediaReady(mediaId: media.id, generation: 1, renditions: renditions, width: 1600, height: 1200,
                                 duration: nil, bitrate: nil, metadata: [:], processingMs: 5)
        #expect(try await gateway.repository.apply(.ready(outcome), consumer: "test") == .applied)
        return try #require(try await gateway.repository.find(id: media.id))
    }

    static func file(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "transform-src-\(UUID().uuidString).jpg"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// `/img/<signature>/<path>` signed with `key` (default: the first).
    static func url(_ path: String, key: String = "first-key-of-the-test") -> String {
        let signer = TransformSigner(keys: [key])
        return "/img/\(signer?.sign(path) ?? "")/\(path)"
    }

    static func inspect(_ body: ByteBuffer) throws -> ImageInfo {
        try ImageInspector.inspect(bytes: Array(body.readableBytesView))
    }

    @Test func aSignedURLRendersIsStoredUnderTheMediaAndIsThenServedFromStorage() async throws {
        let gateway = try gateway()
        let media = try await ready(gateway)
        let path = "w_320,h_240,fit_cover,g_smart,q_80/\(media.id).webp"
        try await gateway.test { client in
            let first = try await client.execute(uri: Self.url(path), method: .get)
            #expect(first.status == .ok, "\(String(buffer: first.body))")
            #expect(first.headers[.contentType] == "image/webp")
            #expect(first.headers[.cacheControl] == "public, max-age=31536000, immutable")
            let info = try Self.inspect(first.body)
            #expect(info.format == "webp" && info.width == 320 && info.height == 240 && info.metadataFields.allSatisfy { !$0.hasPrefix("exif") })
            let etag = try #require(first.headers[.eTag])

            let variants = try await gateway.storage.list(prefix: StorageKeys.mediaPrefix(ofOriginal: media.storageKey) + "g1/variants/")
            let variantKey = StorageKeys.mediaPrefix(ofOriginal: media.storageKey) + "g1/variants/w_320-h_240-fit_cover-g_smart-q_80.webp"
            #expect(variants == [variantKey])
            // In the ledger, with its real size: it counts in the owner's quota, and its fetches keep it.
            #expect(gateway.variants.all[variantKey]?.bytes == Int64(first.body.readableBytes))
            #expect(gateway.variants.all[variantKey]?.mediaId == media.id)
            // From storage now: the original may go, the variant is still served, as the same representation.
            try await gateway.storage.delete(key: media.storageKey)
            let again = try await client.execute(uri: Self.url(path), method: .get)
            #expect(again.status == .ok && again.headers[.eTag] == etag && again.body == first.body)
            let notModified = try await client.execute(uri: Self.url(path), method: .get, headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified)
            let range = try await client.execute(uri: Self.url(path), method: .get, headers: [.range: "bytes=0-9"])
            #expect(range.status == .partialContent && range.body.readableBytes == 10)
        }
    }

    @Test func everyBadURLIsRefusedWithItsCodeAndNothingIsRendered() async throws {
        let gateway = try gateway()
        let media = try await ready(gateway)
        let privateMedia = try await ready(gateway, isPublic: false)
        let processingKey = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: processingKey, bytes: Self.photo)
        guard case .created(let processing) = try await gateway.repository.create(NewMedia(
            userId: 1, username: "user1", format: .jpeg, fileSize: Int64(Self.photo.count), originalFilename: "p.jpg",
            storageKey: processingKey, isPublic: true))
        else { throw CancellationError() }
        let deleted = try await ready(gateway)
        _ = try await gateway.repository.delete(id: deleted.id, userId: 1)
        let id = media.id
        let now = Int(Date().timeIntervalSince1970)
        let cases: [(String, HTTPResponse.Status, String)] = [
            (Self.url("w_320/\(id).jpg", key: "a-key-we-never-gave-out"), .forbidden, "invalid_signature"),
            ("/img/short/w_320/\(id).jpg", .forbidden, "invalid_signature"),
            (Self.url("w_320,x_1/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_0/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_99999/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_4097,h_10/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320,w_10/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_-5/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("fit_cover/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320,fit_stretch/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320,g_north/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320,q_101/\(id).jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320/\(id).gif"), .badRequest, "invalid_option"),
            (Self.url("w_320/\(id)"), .badRequest, "invalid_option"),
            (Self.url("w_320/abc.jpg"), .badRequest, "invalid_option"),
            (Self.url("w_320/../\(id).jpg"), .notFound, "not_found"),  // no such route once the path is resolved
            ("/img/x/w_320%2F..%2Fsecret/\(id).jpg", .badRequest, "invalid_option"),
            ("/img/x/w_320%ZZ/\(id).jpg", .badRequest, "invalid_option"),
            (Self.url("w_320/999999.jpg"), .notFound, "not_found"),
            (Self.url("w_320/\(deleted.id).jpg"), .notFound, "not_found"),
            (Self.url("w_320/\(processing.id).jpg"), .notFound, "not_found"),
            (Self.url("w_320/\(privateMedia.id).jpg"), .forbidden, "invalid_signature"),
            (Self.url("w_320/\(privateMedia.id).jpg?exp=\(now - 10)"), .forbidden, "url_expired"),
            (Self.url("w_320/\(id).jpg?exp=\(now + 60)") + "0", .forbidden, "invalid_signature"),
            (Self.url("w_320/\(id).jpg?exp=soon"), .badRequest, "invalid_option"),
        ]
        try await gateway.test { client in
            for (uri, status, code) in cases {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == status, "\(uri): \(String(buffer: response.body))")
                #expect(String(buffer: response.body).contains("\"code\":\"\(code)\""), "\(uri): \(String(buffer: response.body))")
            }
        }
        let variants = try await gateway.storage.list(prefix: "media/").filter { $0.contains("/variants/") }
        #expect(variants.isEmpty, "no bad URL rendered anything: \(variants)")
    }

    @Test func aSizeAboveTheSourceIsClampedKeysRotateAndPrivateURLsExpire() async throws {
        let gateway = try gateway()
        let media = try await ready(gateway)
        let privateMedia = try await ready(gateway, isPublic: false)
        let exp = Int(Date().timeIntervalSince1970) + 600
        try await gateway.test { client in
            // Cover of a 4000x3000 box on a 1600x1200 picture: the box shrunk to the picture, never enlarged.
            let cover = try await client.execute(uri: Self.url("w_4000,h_3000/\(media.id).png"), method: .get)
            #expect(cover.status == .ok && cover.headers[.contentType] == "image/png")
            let coverInfo = try Self.inspect(cover.body)
            #expect(coverInfo.width == 1600 && coverInfo.height == 1200, "\(coverInfo.width)x\(coverInfo.height)")
            let wide = try await client.execute(uri: Self.url("w_4000,h_1000/\(media.id).jpg"), method: .get)
            let wideInfo = try Self.inspect(wide.body)
            #expect(wideInfo.width == 1600 && wideInfo.height == 400, "\(wideInfo.width)x\(wideInfo.height)")
            let inside = try await client.execute(uri: Self.url("h_300/\(media.id).jpg"), method: .get)
            let insideInfo = try Self.inspect(inside.body)
            #expect(insideInfo.width == 400 && insideInfo.height == 300, "\(insideInfo.width)x\(insideInfo.height)")
            // Commas sent percent-encoded (as some URL libraries do) are the same URL.
            let encoded = Self.url("w_100,h_100/\(media.id).jpg").replacingOccurrences(of: ",", with: "%2C")
            #expect(try await client.execute(uri: encoded, method: .get).status == .ok)
            // g_face (SPEC §12 names it) is libvips' attention: no face detector here.
            let face = try await client.execute(uri: Self.url("w_200,h_200,g_face/\(media.id).jpg"), method: .get)
            #expect(face.status == .ok)
            #expect(try Self.inspect(face.body).width == 200)
            // Signed with the second key of the list: still accepted (rotation).
            let old = try await client.execute(uri: Self.url("w_100/\(media.id).jpg", key: "second-key-of-the-test"), method: .get)
            #expect(old.status == .ok)
            // Private: signed with its expiry, served as private.
            let signed = try await client.execute(uri: Self.url("w_200/\(privateMedia.id).avif?exp=\(exp)"), method: .get)
            #expect(signed.status == .ok && signed.headers[.contentType] == "image/avif")
            #expect(signed.headers[.cacheControl] == "private, max-age=31536000, immutable")
            #expect(try Self.inspect(signed.body).width == 200)
        }
    }

    @Test func autoPicksTheFormatFromAcceptAndVariesOnIt() async throws {
        let gateway = try gateway()
        let media = try await ready(gateway)
        let uri = Self.url("w_160,h_120/\(media.id).auto")
        try await gateway.test { client in
            for (accept, type) in [("image/avif,image/webp,*/*", "image/avif"), ("image/webp,*/*", "image/webp"),
                                   ("*/*", "image/jpeg"), (nil, "image/jpeg")] {
                let response = try await client.execute(uri: uri, method: .get, headers: accept.map { [.accept: $0] } ?? [:])
                #expect(response.status == .ok && response.headers[.contentType] == type, "\(accept ?? "no Accept")")
                #expect(response.headers[.vary]?.contains("Accept") == true)
            }
        }
    }

    @Test func aRenditionLargeEnoughIsReadInsteadOfTheOriginalAndAVideoIsItsPoster() async throws {
        let gateway = try gateway()
        // No original in storage: a render that needed it would fail; one that reads `large` (1080x810) does not.
        let photo = try await ready(gateway, storeOriginal: false, large: true)
        let video = try await ready(gateway, format: .mp4)
        try await gateway.test { client in
            let fromLarge = try await client.execute(uri: Self.url("w_640/\(photo.id).webp"), method: .get)
            #expect(fromLarge.status == .ok, "\(String(buffer: fromLarge.body))")
            #expect(try Self.inspect(fromLarge.body).width == 640)
            let needsOriginal = try await client.execute(uri: Self.url("w_1400/\(photo.id).webp"), method: .get)
            #expect(needsOriginal.status.code >= 400, "the original was needed and is missing")
            let poster = try await client.execute(uri: Self.url("w_320,h_320/\(video.id).jpg"), method: .get)
            #expect(poster.status == .ok)
            let info = try Self.inspect(poster.body)
            #expect(info.width == 320 && info.height == 320)
        }
    }

    @Test func transformURLMintsWhatImgAcceptsAndOff() async throws {
        let gateway = try gateway()
        let media = try await ready(gateway)
        let privateMedia = try await ready(gateway, isPublic: false)
        let others = try await ready(gateway, user: 2, isPublic: false)
        try await gateway.test { client in
            var headers = gateway.auth(1)
            headers[.contentType] = "application/json"
            let minted = try await client.execute(
                uri: "/api/media/\(media.id)/transform-url/", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"width": 320, "height": 240, "gravity": "smart", "format": "webp"}"#))
            #expect(minted.status == .ok, "\(String(buffer: minted.body))")
            let body = try JSONParser.parse(String(buffer: minted.body))
            let url = try #require(body["url"]?.stringValue)
            #expect(url.hasPrefix("http://media.test/img/") && url.hasSuffix("/w_320,h_240,fit_cover,g_smart,q_80/\(media.id).webp"))
            #expect(body["expires_at"] == .null)
            let image = try await client.execute(uri: String(url.dropFirst("http://media.test".count)), method: .get)
            #expect(image.status == .ok && image.headers[.contentType] == "image/webp")

            let mintedPrivate = try await client.execute(
                uri: "/api/media/\(privateMedia.id)/transform-url/", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"height": 100}"#))
            let privateBody = try JSONParser.parse(String(buffer: mintedPrivate.body))
            let privateURL = try #require(privateBody["url"]?.stringValue)
            #expect(privateURL.contains("/h_100,fit_inside,g_centre,q_80/\(privateMedia.id).auto?exp="))
            #expect(privateBody["expires_at"]?.stringValue != nil)
            let privateImage = try await client.execute(uri: String(privateURL.dropFirst("http://media.test".count)), method: .get)
            #expect(privateImage.status == .ok, "\(String(buffer: privateImage.body))")

            for (id, json, status, code) in [
                (others.id, #"{"width": 10}"#, HTTPResponse.Status.notFound, "not_found"),
                (media.id, #"{"fit": "cover"}"#, .badRequest, "invalid_option"),
                (media.id, #"{"width": 5000}"#, .badRequest, "invalid_option"),
                (media.id, #"{"width": 10, "format": "gif"}"#, .badRequest, "invalid_option"),
                (media.id, #"{"width": 10, "quality": "high"}"#, .badRequest, "invalid_option"),
            ] {
                let refused = try await client.execute(uri: "/api/media/\(id)/transform-url/", method: .post, headers: headers,
                                                       body: ByteBuffer(string: json))
                #expect(refused.status == status && String(buffer: refused.body).contains(code), "\(json): \(String(buffer: refused.body))")
            }
        }

        // Without a key: /img/ is not there, transform-url says why.
        let off = try self.gateway(keys: nil)
        let offMedia = try await ready(off)
        try await off.test { client in
            #expect(try await client.execute(uri: Self.url("w_100/\(offMedia.id).jpg"), method: .get).status == .notFound)
            var headers = off.auth(1)
            headers[.contentType] = "application/json"
            let refused = try await client.execute(uri: "/api/media/\(offMedia.id)/transform-url/", method: .post,
                                                   headers: headers, body: ByteBuffer(string: #"{"width": 10}"#))
            #expect(refused.status == .notImplemented && String(buffer: refused.body).contains("transforms_disabled"))
        }
    }

    /// The signature is SPEC §12's formula, not just what our signer and checker agree on: the README's Python
    /// example signs the same path to the same characters.
    @Test func theREADMEsPythonSignsAsTheGatewayChecks() throws {
        let script = """
            import base64, hashlib, hmac, sys
            key, path = sys.argv[1], sys.argv[2]
            sig = base64.urlsafe_b64encode(hmac.new(key.encode(), path.encode(), hashlib.sha256).digest()).decode().rstrip("=")[:32]
            print(sig)
            """
        for path in ["w_320,h_240,fit_cover,g_smart,q_80/42.webp", "h_100,fit_inside,g_centre,q_80/7.auto?exp=1796600000"] {
            let python = try runCapturing("/usr/bin/env", ["python3", "-c", script, "first-key-of-the-test", path])
            let signer = try #require(TransformSigner(keys: Self.keys.split(separator: ",").map(String.init)))
            #expect(python.output.trimmingCharacters(in: .whitespacesAndNewlines) == signer.sign(path))
            #expect(signer.verify(signer.sign(path), path: path) && !signer.verify(signer.sign(path), path: path + "x"))
        }
    }

    @Test func oneRenderPerVariantHoweverManyAskAndABusyGateSays503() async throws {
        let renders = TransformRenders(concurrency: 1, wait: .milliseconds(300))
        let count = Counted()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await renders.once("variant") {
                        count.add()
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(count.value == 1, "one render for 100 requests")

        // One slot, held: another variant waits 300 ms for it, then is refused with 503 busy and Retry-After.
        let holding = Task { try await renders.once("slow") { try await Task.sleep(for: .seconds(2)) } }
        try await Task.sleep(for: .milliseconds(50))
        await #expect {
            try await renders.once("other") { count.add() }
        } throws: { error in
            (error as? APIError).map { $0.status == .serviceUnavailable && $0.code == "busy" && $0.headers[.retryAfter] != nil } ?? false
        }
        #expect(count.value == 1, "the refused render did not run")
        try await holding.value
        try await renders.once("other") { count.add() }
        #expect(count.value == 2, "a free slot renders")
    }
}

/// A counter several tasks add to.
final class Counted: Sendable {
    private let storage = Mutex(0)
    var value: Int { storage.withLock { $0 } }
    func add() { storage.withLock { $0 += 1 } }
}
