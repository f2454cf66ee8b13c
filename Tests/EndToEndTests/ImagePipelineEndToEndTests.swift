import Foundation
import MediaDomain
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TestSupport

/// Upload → event → ImageService → status fold → API, with the real executables, PostgreSQL and RabbitMQ.
@Suite("End to end: Gateway + ImageService", .serialized,
       .enabled(if: Stack.available, "needs MEDIA_TEST_BIN_DIR and the test servers (make test)"))
struct ImagePipelineEndToEndTests {
    @Test func uploadedImageBecomesReadyWithRealRenditions() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let photo = try await Fixtures.jpeg(width: 1600, height: 1200)
        let upload = try await stack.upload(photo, filename: "photo.jpg", user: user, asIs: true)
        #expect(upload.status == 201)
        #expect(upload.json["status"] == "processing")
        // SPEC §13: the hash of the bytes as they streamed in, in the 201 already.
        #expect(upload.json["sha256"]?.stringValue == (try sha256sum(photo)), "\(upload.json)")
        let id = try #require(upload.json["id"]?.intValue)

        let media = try await stack.waitFor(id, user: user)
        #expect(media["status"] == "ready")
        #expect(media["width"]?.intValue == 1600 && media["height"]?.intValue == 1200)
        #expect(media["metadata"]?["processing_ms"]?.intValue != nil)
        let urls = try #require(media["urls"]?.objectValue)
        let expected: [String: (Int, Int)] = ["thumbnail": (150, 150), "small": (320, 240), "medium": (640, 480), "large": (1080, 810)]
        for (name, (w, h)) in expected {
            let url = try #require(urls[name]?.stringValue, "\(name) URL")
            let file = try await stack.request("GET", url)
            #expect(file.status == 200, "\(name) at \(url): \(String(decoding: file.body, as: UTF8.self))")
            #expect(file.headers["content-type"] == "image/jpeg")
            let size = try #require(jpegSize(file.body), "\(name) is a JPEG")
            #expect(size.0 == w && size.1 == h, "\(name) is \(size)")
        }
        let webp = try await stack.request("GET", try #require(urls["webp"]?.stringValue))
        #expect(webp.status == 200 && webp.headers["content-type"] == "image/webp")
        #expect(webp.body.prefix(4) == Data("RIFF".utf8) && webp.body.dropFirst(8).prefix(4) == Data("WEBP".utf8))
        #expect(media["display_url"] == urls["medium"])
        #expect(media["thumbnail_url"] == urls["thumbnail"])
        // SPEC §12: the AVIF rendition and the placeholders.
        let avif = try await stack.request("GET", try #require(urls["avif"]?.stringValue, "urls.avif"))
        #expect(avif.status == 200 && avif.headers["content-type"] == "image/avif")
        #expect(avif.body.dropFirst(4).prefix(8) == Data("ftypavif".utf8))
        let hash = try #require(media["metadata"]?["thumbhash"]?.stringValue.flatMap { Data(base64Encoded: $0) }, "\(media)")
        #expect(hash.count >= 5 && hash[4] & 0x80 != 0, "a landscape picture's ThumbHash")
        let colour = try #require(media["metadata"]?["dominant_color"]?.stringValue)
        #expect(colour.count == 7 && colour.hasPrefix("#"), "\(colour)")
        let phash = try #require(media["metadata"]?["phash"]?.stringValue, "\(media)")
        #expect(phash.count == 16 && UInt64(phash, radix: 16) != nil, "\(phash)")

        // SPEC §13 through the real Gateway (its hash index and read cache): the same picture at half the size is a
        // near-duplicate, listed by /similar/ as soon as it is ready; a different picture is not.
        let half = try #require(try await stack.upload(try await Fixtures.jpeg(width: 800, height: 600), filename: "half.jpg",
                                                       user: user).json["id"]?.intValue)
        let other = try #require(try await stack.upload(
            try await Fixtures.make("other.jpg", "-f lavfi -i mandelbrot=size=800x600 -frames:v 1 -q:v 3"),
            filename: "other.jpg", user: user).json["id"]?.intValue)
        for id in [half, other] { #expect(try await stack.waitFor(id, user: user)["status"] == "ready") }
        let similar = try await stack.request("GET", "/api/media/\(id)/similar/", user: user)
        #expect(similar.status == 200)
        guard case .array(let results)? = similar.json["results"] else { Issue.record("no results: \(similar.json)"); return }
        let listed = results.compactMap { $0["id"]?.intValue }
        #expect(listed == [half], "the half-size copy only: \(similar.json)")
    }

    /// SPEC §13: the same bytes again from the same user are a new media that is ready at once and shares the stored
    /// files (no job, no second copy); it survives the deletion of the first and the files go with the second.
    @Test func duplicateUploadSharesFilesWithoutAJobAndOutlivesTheFirst() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let first = try #require(try await stack.upload(photo, filename: "a.jpg", user: user, asIs: true).json["id"]?.intValue)
        let ready = try await stack.waitFor(first, user: user)
        #expect(ready["status"] == "ready")
        let keysBefore = try await stack.storedKeys()

        let again = try await stack.upload(photo, filename: "again.jpg", user: user, asIs: true)
        #expect(again.status == 201)
        #expect(again.json["status"] == "ready", "ready in the 201 already: \(again.json)")
        #expect(again.json["metadata"]?["duplicate_of"]?.intValue == first, "\(again.json)")
        #expect(again.json["original_filename"] == "again.jpg" && again.json["sha256"] == ready["sha256"])
        let second = try #require(again.json["id"]?.intValue)
        #expect(again.json["urls"]?["medium"] == ready["urls"]?["medium"], "the same stored rendition")
        // No job: no media.uploaded in the outbox and no processing job recorded for it; the first had one of each.
        #expect(try await stack.sql("SELECT count(*) FROM outbox WHERE convert_from(body, 'UTF8')::jsonb ->> 'media_id' = '\(second)'") == "0")
        #expect(try await stack.sql("SELECT count(*) FROM processing_jobs WHERE media_id = \(second)") == "0")
        #expect(try await stack.sql("SELECT count(*) FROM processing_jobs WHERE media_id = \(first)") == "1")
        #expect(try await stack.storedKeys() == keysBefore, "nothing stored twice (the surplus upload is gone)")
        // Another user's identical upload is theirs alone.
        let stranger = try await stack.upload(photo, filename: "a.jpg", user: user + 1, asIs: true)
        #expect(stranger.json["status"] == "processing" && stranger.json["metadata"]?["duplicate_of"] == nil)

        let medium = try #require(ready["urls"]?["medium"]?.stringValue)
        #expect(try await stack.request("DELETE", "/api/media/\(first)/", user: user).status == 204)
        #expect(try await stack.request("GET", medium).status == 200, "the duplicate keeps the files")
        #expect(try await stack.request("GET", "/api/media/\(second)/", user: user).json["status"] == "ready")
        #expect(try await stack.request("DELETE", "/api/media/\(second)/", user: user).status == 204)
        #expect(try await stack.request("GET", medium).status == 404)
        let key = try #require(URL(string: medium)?.path.dropFirst("/media/".count))
        let folder = try #require(StorageKeys.mediaFolderName(of: String(key)), "\(medium)")
        #expect(try await stack.storedKeys().filter { $0.contains(folder) }.isEmpty, "the files went with the last media")
    }

    @Test func listStatsAndDeleteOverHTTP() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        var ids: [Int64] = []
        for _ in 0..<2 {
            let r = try await stack.upload(try await Fixtures.jpeg(width: 320, height: 240), filename: "a.jpg", user: user)
            ids.append(try #require(r.json["id"]?.intValue))
        }
        for id in ids { #expect(try await stack.waitFor(id, user: user)["status"] == "ready") }
        let list = try await stack.request("GET", "/api/media/?type=image&page_size=1", user: user).json
        #expect(list["count"]?.intValue == 2)
        #expect(list["next"]?.stringValue == "\(stack.baseURL)/api/media/?page=2&type=image&page_size=1")
        let stats = try await stack.request("GET", "/api/media/stats/", user: user).json
        #expect(stats["total"]?.intValue == 2 && stats["by_status"]?["ready"]?.intValue == 2)
        #expect(stats["by_type"] == ["image": 2, "video": 0, "audio": 0])

        let detail = try await stack.request("GET", "/api/media/\(ids[0])/", user: user).json
        let original = try #require(detail["urls"]?["original"]?.stringValue)
        let thumbnail = try #require(detail["urls"]?["thumbnail"]?.stringValue)
        #expect(try await stack.request("GET", "/api/media/\(ids[0])/", user: 9999).status == 200, "public media is visible")
        #expect(try await stack.request("DELETE", "/api/media/\(ids[0])/", user: 9999).status == 404)
        #expect(try await stack.request("DELETE", "/api/media/\(ids[0])/", user: user).status == 204)
        #expect(try await stack.request("GET", "/api/media/\(ids[0])/", user: user).status == 404)
        #expect(try await stack.request("GET", original).status == 404)
        #expect(try await stack.request("GET", thumbnail).status == 404)
        let files = try await stack.storedKeys()
        #expect(files.count == RenditionCatalog.names(for: .image).count + 1,
                "only the other media's original and renditions remain: \(files)")
    }

    @Test func hostileImagesFailWithTheirCodeAndReprocessStartsANewGeneration() async throws {
        let stack = try await Stack.start()
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let good = try await Fixtures.jpeg(width: 800, height: 600)
        // Hostile bytes exactly as made (a tag after a truncated JPEG's end may read as more entropy-coded data).
        let truncated = try await stack.upload(good.prefix(good.count / 2), filename: "cut.jpg", user: user, asIs: true)
        let bomb = try await stack.upload(try await Fixtures.pixelBomb(), filename: "bomb.png", user: user, isPublic: false,
                                          asIs: true)
        #expect(truncated.status == 201 && bomb.status == 201)
        let truncatedId = try #require(truncated.json["id"]?.intValue)
        let bombId = try #require(bomb.json["id"]?.intValue)

        let failedTruncated = try await stack.waitFor(truncatedId, user: user)
        #expect(failedTruncated["status"] == "failed")
        #expect(failedTruncated["metadata"]?["error"]?["code"] == "decode_failed")
        let failedBomb = try await stack.waitFor(bombId, user: user)
        #expect(failedBomb["status"] == "failed")
        #expect(failedBomb["metadata"]?["error"]?["code"] == "image_too_large")
        #expect(try await stack.request("GET", "/api/media/\(bombId)/", user: 9999).status == 404, "private media is hidden")

        let again = try await stack.request("POST", "/api/media/\(truncatedId)/reprocess/", user: user)
        #expect(again.status == 202)
        #expect(again.json["status"] == "processing")
        let refailed = try await stack.waitFor(truncatedId, user: user)
        #expect(refailed["status"] == "failed" && refailed["metadata"]?["error"]?["code"] == "decode_failed")
        let notFailed = try await stack.request("POST", "/api/media/\(truncatedId)/reprocess/", user: 9999)
        #expect(notFailed.status == 404)
    }

    @Test func oversizedUploadIs413WithNothingStored() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        var big = try await Fixtures.jpeg(width: 64, height: 64)
        big.append(Data(count: 10 * 1_048_576))
        let reply = try await stack.upload(big, filename: "big.jpg", user: Int64.random(in: 10_000_000...1_000_000_000))
        #expect(reply.status == 413)
        #expect(reply.json["code"] == "file_too_large")
        #expect(reply.json["detail"] == "File size exceeds maximum allowed size (10 MB for images)")
        #expect(try await stack.storedKeys().isEmpty, "nothing stored, not even a temp file")
        #expect(try await stack.openUploads() == 0, "on S3, the multipart upload begun was aborted")
    }

    /// A client that goes away mid-body (9 of 9.5 MB sent, so on S3 a part is already in the bucket): the write is
    /// aborted, no row, no object, no temp file, no open multipart upload.
    @Test func aClientThatDisconnectsMidUploadLeavesNothing() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let boundary = "e2e-\(UUID().uuidString)"
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.jpg\"\r\n\r\n".utf8)
        body.append(try await Fixtures.jpeg(width: 64, height: 64))
        body.append(Data(count: 9_500_000))
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let port = try #require(URLComponents(string: stack.baseURL)?.port)
        let head = "POST /api/media/upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(stack.token(user: user))\r\n"
            + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(body.count)\r\n\r\n"
        try sendAndHangUp(port: port, Data(head.utf8) + body.prefix(9_000_000))
        let clean = await eventually(timeout: .seconds(20)) {
            let keys = try? await stack.storedKeys()
            let open = try? await stack.openUploads()
            return keys?.isEmpty == true && open == 0
        }
        let left = (try? await stack.storedKeys()) ?? [], open = (try? await stack.openUploads()) ?? -1
        #expect(clean, "left behind: \(left), open uploads \(open)")
        let list = try await stack.request("GET", "/api/media/", user: user)
        #expect(list.json["count"]?.intValue == 0, "no row")
    }
}

/// Writes `bytes` to a fresh connection to 127.0.0.1:`port` and closes it without reading an answer.
func sendAndHangUp(port: Int, _ bytes: Data) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StackError("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw StackError("connect to \(port): \(errno)") }
    try bytes.withUnsafeBytes { raw in
        var sent = 0
        while sent < raw.count {
            let n = send(fd, raw.baseAddress.map { $0 + sent }, raw.count - sent, Int32(MSG_NOSIGNAL))
            guard n > 0 else { throw StackError("send: \(errno)") }
            sent += n
        }
    }
}

func regularFiles(under directory: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
    var files: [String] = []
    while let sub = walker.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory + "/" + sub, isDirectory: &isDirectory), !isDirectory.boolValue {
            files.append(sub)
        }
    }
    return files
}
