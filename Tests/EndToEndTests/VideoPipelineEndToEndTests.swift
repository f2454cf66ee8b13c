import Foundation
import MediaDomain
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Two VideoService processes on one queue, one SIGKILLed mid-job: the broker redelivers its unacked message
/// to the other and every media still ends ready, each made once.
@Suite("End to end: Gateway + two VideoServices", .serialized,
       .enabled(if: Stack.available, "needs MEDIA_TEST_BIN_DIR and the test servers (make test)"))
struct VideoPipelineEndToEndTests {
    /// A VideoService of our own (not in the Stack's list) so it can be killed; stderr goes to `log`.
    func launchVideoService(_ stack: Stack, log: String) throws -> ChildProcess {
        try ChildProcess("\(Stack.env["MEDIA_TEST_BIN_DIR"] ?? "")/mediaflow-video", [], environment: stack.environment.merging([
            "MEDIA_OPS_PORT": String(freePort()), "MEDIA_LOG_LEVEL": "info", "MEDIA_VIDEO_WORKERS": "1",
        ]) { $1 }, output: .file(log))
    }

    func lines(_ log: String, containing text: String) -> [Substring] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(text) }
    }

    @Test func killedReplicaLeavesItsJobToTheOther() async throws {
        let stack = try await Stack.start(processors: [])
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-video-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let a = try launchVideoService(stack, log: "\(logs)/a.log")
        let b = try launchVideoService(stack, log: "\(logs)/b.log")
        defer {
            for p in [a, b] where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            stack.stop()
            try? FileManager.default.removeItem(atPath: logs)
        }
        let consuming = await eventually(timeout: .seconds(60)) {
            !lines("\(logs)/a.log", containing: "worker consuming").isEmpty
                && !lines("\(logs)/b.log", containing: "worker consuming").isEmpty
        }
        #expect(consuming, "both VideoServices consume")

        // Several seconds of x264 work each, so the one the first replica holds is mid-job when it dies.
        let clip = try await Fixtures.make(
            "clip.avi", "-f lavfi -i testsrc2=size=960x540:rate=25:duration=10 -f lavfi -i sine=duration=10 "
                + "-c:v mjpeg -q:v 6 -c:a libmp3lame")
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        var ids: [Int64] = []
        for i in 0..<4 {
            let upload = try await stack.upload(clip, filename: "clip\(i).avi", user: user)
            #expect(upload.status == 201)
            ids.append(try #require(upload.json["id"]?.intValue))
        }
        // Killed once it has started a job (several seconds of work): it dies mid-job.
        #expect(await eventually(timeout: .seconds(60), interval: .milliseconds(20)) {
            !lines("\(logs)/a.log", containing: "job started").isEmpty
        }, "the first replica took a job")
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()

        for id in ids {
            let media = try await stack.waitFor(id, user: user, timeout: .seconds(240))
            #expect(media["status"] == "ready", "media \(id): \(media)")
            #expect(media["width"]?.intValue == 960 && media["height"]?.intValue == 540)
        }
        // None made twice: the killed replica finished nothing, the survivor made each media once.
        #expect(lines("\(logs)/a.log", containing: "media ready").isEmpty, "the killed replica was mid-job")
        let made = lines("\(logs)/b.log", containing: "media ready")
        #expect(made.count == ids.count, "\(made)")
        for id in ids {
            #expect(made.filter { $0.contains("media_id=\(id) ") || $0.hasSuffix("media_id=\(id)") }.count == 1,
                    "media \(id) made once")
        }

        // The renditions are real: an MP4 and two JPEGs of the right sizes.
        let media = try await stack.waitFor(ids[0], user: user)
        let urls = try #require(media["urls"]?.objectValue)
        let video = try await stack.request("GET", try #require(urls["video"]?.stringValue))
        #expect(video.status == 200 && video.headers["content-type"] == "video/mp4")
        #expect(video.body.dropFirst(4).prefix(4) == Data("ftyp".utf8))
        let picture = try await ffprobe(video.body, stream: "v:0", entries: "stream=codec_name,width,height,pix_fmt")
        #expect(picture == ["codec_name": "h264", "width": "960", "height": "540", "pix_fmt": "yuv420p"], "\(picture)")
        let sound = try await ffprobe(video.body, stream: "a:0", entries: "stream=codec_name")
        #expect(sound["codec_name"] == "aac", "\(sound)")
        let poster = try await stack.request("GET", try #require(urls["poster"]?.stringValue))
        #expect(jpegSize(poster.body).map { $0 == (960, 540) } == true)
        let thumbnail = try await stack.request("GET", try #require(urls["thumbnail"]?.stringValue))
        #expect(jpegSize(thumbnail.body).map { $0 == (150, 150) } == true)
    }
}
