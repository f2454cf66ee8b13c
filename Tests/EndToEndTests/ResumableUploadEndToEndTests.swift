import Foundation
import MediaDomain
import Testing
import TestSupport

/// Resumable uploads on tus 1.0.0 (SPEC §8) against the real services: a real tus client (tuspy) whose connection is
/// cut mid-chunk resumes from the offset the Gateway reports, then finishes through a second Gateway after the first
/// was SIGKILLed; the media ends ready and its original is the source, byte for byte. And every refusal of §8.
@Suite("End to end: resumable (tus) uploads", .serialized,
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct ResumableUploadEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let owner: Int64 = 8901
    let tus = ["Tus-Resumable": "1.0.0"]

    func get(_ url: String, stack: Stack, user: Int64) async throws -> Stack.Reply {
        try await stack.request("GET", url, user: user)
    }

    @Test(.timeLimit(.minutes(8)))
    func aCutConnectionAndALostGatewayResumeToTheSameBytes() async throws {
        // About 60 MB of video (noise does not compress), made once by the ffmpeg CLI.
        let source = FileManager.default.temporaryDirectory.appendingPathComponent("tus-\(UUID().uuidString).mp4").path
        defer { try? FileManager.default.removeItem(atPath: source) }
        let made = await runShell("ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=2 "
            + "-vf noise=alls=60:allf=t -c:v libx264 -preset ultrafast -crf 8 -pix_fmt yuv420p '\(source)'")
        #expect(made == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        #expect(bytes.count > 50_000_000, "a large file: \(bytes.count) bytes")

        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-tus-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let stack = try await Stack.start(processors: ["mediaflow-video"], logDirectory: logs)
        defer { stack.stop() }
        let port2 = freePort()
        let second = "http://127.0.0.1:\(port2)"
        try stack.launch("mediaflow-gateway", extra: ["MEDIA_HTTP_PORT": String(port2), "MEDIA_PUBLIC_BASE_URL": second],
                         log: "\(logs)/mediaflow-gateway.2.log")
        #expect(await eventually(timeout: .seconds(60)) { (try? await stack.request("GET", "\(second)/readyz").status) == 200 })
        let first = try #require(stack.processes(named: "mediaflow-gateway").first)

        let script = Self.root.appendingPathComponent("Tests/Resumable/tus_client.py").path
        let (status, output) = try runCapturing("/usr/bin/env", ["python3", script], environment: [
            "MEDIA_TUS_FILE": source, "MEDIA_TUS_GATEWAY1": stack.baseURL, "MEDIA_TUS_GATEWAY2": second,
            "MEDIA_TUS_GATEWAY1_PID": String(first.processIdentifier), "MEDIA_TUS_TOKEN": stack.token(user: owner),
        ])
        #expect(status == 0, "the tus client: \(output)")
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        let result = try JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8))
        print("tus client: \(line)")

        // The cut came in the third chunk; the Gateway kept what arrived of it, and the client went on from there.
        let chunk = 5 * 1024 * 1024
        #expect(result["cut_during_chunk"]?.intValue == 3, "\(result)")
        let afterCut = try #require(result["offset_after_cut"]?.intValue)
        #expect(afterCut > Int64(2 * chunk) && afterCut < Int64(2 * chunk + chunk / 2), "kept part of the cut chunk: \(afterCut)")
        #expect(result["resumed_from"]?.intValue == afterCut)
        #expect(result["offset_on_second"] == result["offset_before_kill"], "the second Gateway knows the offset")
        #expect(result["final_offset"]?.intValue == Int64(bytes.count))
        let mediaId = try #require(result["media_id"]?.stringValue.flatMap { Int64($0) }, "Media-Id on the last PATCH")
        #expect(result["media_location"]?.stringValue == "\(second)/api/media/\(mediaId)/")

        // A media exactly like a plain upload's: ready, a transcoded video, and the original byte for byte.
        var media: [String: JSONValue] = [:]
        _ = await eventually(timeout: .seconds(240), interval: .milliseconds(200)) {
            media = (try? await get("\(second)/api/media/\(mediaId)/", stack: stack, user: owner).json) ?? [:]
            return media["status"] == "ready" || media["status"] == "failed"
        }
        #expect(media["status"] == "ready", "the resumed upload ended ready: \(media)")
        #expect(media["file_size"]?.intValue == Int64(bytes.count))
        #expect(media["original_filename"] == "resumed.mp4")
        // SPEC §13: hashed as the parts were joined into the original, equal to sha256sum of the source.
        #expect(media["sha256"]?.stringValue == (try sha256sum(bytes)), "\(media)")
        let original = try #require(media["urls"]?["original"]?.stringValue)
        let stored = try await get(original.replacingOccurrences(of: stack.baseURL, with: second), stack: stack, user: owner)
        #expect(stored.status == 200)
        #expect(stored.body == bytes, "the stored original is the source, byte for byte (\(stored.body.count) bytes)")
        // Nothing of the upload is left but the media.
        #expect(try await stack.sql("SELECT media_id FROM uploads WHERE media_id = \(mediaId)") == "\(mediaId)")
        let keys = try await stack.storedKeys()
        #expect(!keys.contains { $0.hasPrefix("uploads/") }, "the segments are gone: \(keys.filter { $0.hasPrefix("uploads/") })")
        #expect(try await stack.openUploads() == 0, "no multipart upload left open in the bucket")
    }

    @Test func refusals() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        func create(_ length: Int, name: String = "clip.mp4", user: Int64? = nil, headers: [String: String]? = nil) async throws -> Stack.Reply {
            let filename = Data(name.utf8).base64EncodedString()
            return try await stack.request("POST", "/api/uploads/", user: user ?? owner, headers: (headers ?? tus).merging([
                "Upload-Length": String(length), "Upload-Metadata": "filename \(filename)",
            ]) { $1 })
        }
        func patch(_ location: String, offset: Int, _ body: Data, user: Int64? = nil) async throws -> Stack.Reply {
            try await stack.request("PATCH", location, user: user ?? owner, body: body, headers: tus.merging([
                "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream",
            ]) { $1 })
        }

        // Discovery, without credentials.
        let options = try await stack.request("OPTIONS", "/api/uploads/")
        #expect(options.status == 204)
        #expect(options.headers["tus-version"] == "1.0.0")
        #expect(options.headers["tus-extension"] == "creation,creation-with-upload,termination,expiration")
        #expect(options.headers["tus-max-size"] == String(100 * 1024 * 1024))

        // Without Tus-Resumable: 412, and the versions spoken.
        let noVersion = try await create(1000, headers: [:])
        #expect(noVersion.status == 412 && noVersion.json["code"] == "tus_version_unsupported")
        #expect(noVersion.headers["tus-version"] == "1.0.0")

        // Over the limit of the type the name announces: 413 at creation, before a byte.
        let tooLarge = try await create(10 * 1024 * 1024 + 1, name: "photo.jpg")
        #expect(tooLarge.status == 413 && tooLarge.json["code"] == "file_too_large")
        #expect(tooLarge.json["detail"]?.stringValue?.contains("10 MB for images") == true)
        #expect(try await create(1000, name: "notes.pdf").status == 415)
        #expect(try await stack.request("POST", "/api/uploads/", user: owner, headers: tus.merging(["Upload-Length": "10"]) { $1 }).json["code"] == "file_missing")

        // A PDF's bytes under a video's name: 415, and the upload is gone.
        let pdf = Data("%PDF-1.7\n".utf8) + Data(repeating: 0x41, count: 2000)
        let forPDF = try await create(pdf.count)
        #expect(forPDF.status == 201)
        let pdfLocation = try #require(forPDF.headers["location"])
        #expect(forPDF.headers["upload-expires"]?.hasSuffix("GMT") == true)
        let refused = try await patch(pdfLocation, offset: 0, pdf)
        #expect(refused.status == 415 && refused.json["code"] == "unsupported_media_type")
        #expect(try await stack.request("HEAD", pdfLocation, user: owner, headers: tus).status == 404, "the refused upload was removed")

        // A real upload in two PATCHes: a wrong offset is 409, another user's URL 404.
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let created = try await create(photo.count, name: "two-parts.jpg")
        let location = try #require(created.headers["location"])
        let half = photo.count / 2
        let firstHalf = try await patch(location, offset: 0, photo.prefix(half))
        #expect(firstHalf.status == 204 && firstHalf.headers["upload-offset"] == String(half))
        #expect(try await patch(location, offset: 0, photo.suffix(from: half)).status == 409, "a wrong Upload-Offset")
        #expect(try await stack.request("HEAD", location, user: owner + 1, headers: tus).status == 404)
        #expect(try await patch(location, offset: half, photo.suffix(from: half), user: owner + 1).status == 404)
        #expect(try await stack.request("PATCH", location, user: owner, body: Data([1]), headers: tus.merging(
            ["Upload-Offset": String(half), "Content-Type": "application/octet-stream"]) { $1 }).status == 415)
        let head = try await stack.request("HEAD", location, user: owner, headers: tus)
        #expect(head.status == 200 && head.headers["upload-offset"] == String(half)
                && head.headers["upload-length"] == String(photo.count) && head.headers["cache-control"] == "no-store")
        let last = try await patch(location, offset: half, photo.suffix(from: half))
        #expect(last.status == 204 && last.headers["upload-offset"] == String(photo.count))
        let mediaId = try #require(last.headers["media-id"].flatMap { Int64($0) })
        #expect(last.headers["media-location"] == "\(stack.baseURL)/api/media/\(mediaId)/")
        let media = try await stack.request("GET", "/api/media/\(mediaId)/", user: owner).json
        #expect(media["original_filename"] == "two-parts.jpg" && media["file_size"]?.intValue == Int64(photo.count))

        // An expired upload: 410, and then it is gone.
        let stale = try await create(photo.count, name: "late.jpg")
        let staleLocation = try #require(stale.headers["location"])
        let staleId = try #require(staleLocation.split(separator: "/").last)
        _ = try await stack.sql("UPDATE uploads SET expires_at = now() - interval '1 minute' WHERE id = '\(staleId)'")
        let expired = try await patch(staleLocation, offset: 0, photo)
        #expect(expired.status == 410 && expired.json["code"] == "upload_expired")
        #expect(expired.headers["tus-resumable"] == "1.0.0")
        #expect(try await stack.request("HEAD", staleLocation, user: owner, headers: tus).status == 404)

        // Termination.
        let dropped = try await create(photo.count, name: "dropped.jpg")
        let droppedLocation = try #require(dropped.headers["location"])
        #expect(try await patch(droppedLocation, offset: 0, photo.prefix(100)).status == 204)
        #expect(try await stack.request("DELETE", droppedLocation, user: owner, headers: tus).status == 204)
        #expect(try await stack.request("HEAD", droppedLocation, user: owner, headers: tus).status == 404)
    }
}
