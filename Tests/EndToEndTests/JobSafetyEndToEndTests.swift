import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MediaDomain
import Testing
import TestSupport

/// How processors guard their jobs (issue 27, defects 0 and 5), with the real executables: a file whose job kills the
/// process is not retried forever, and a long queue does not make the Janitor fail the jobs waiting in it.
@Suite("End to end: poison messages and heartbeats", .serialized,
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct JobSafetyEndToEndTests {
    /// A valid JPEG carrying the test failpoint's marker in a comment segment: an ImageService started with
    /// `MEDIA_FAILPOINT=abort-on-marker` aborts (SIGABRT, as libvips does on an image it cannot handle) in its job.
    func poisonJPEG() async throws -> Data {
        let jpeg = try await Fixtures.jpeg(width: 320, height: 240)
        let marker = Array("MEDIAFLOW-TEST-ABORT".utf8)
        let length = marker.count + 2
        return Data([0xFF, 0xD8, 0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + marker) + jpeg.dropFirst(2)
    }

    /// Waits for `process` to end; true when it ended by SIGABRT.
    func diedOfAbort(_ process: ChildProcess, within timeout: Duration) async -> Bool {
        _ = await eventually(timeout: timeout, interval: .milliseconds(100)) { !process.isRunning }
        return !process.isRunning && process.endedBySignal && process.terminationStatus == SIGABRT
    }

    @Test(.timeLimit(.minutes(3)))
    func aFileThatKillsTheImageServiceTwiceFailsAndTheNextPhotoIsProcessedByTheSameProcess() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        let env = ["MEDIA_FAILPOINT": "abort-on-marker"]
        let user: Int64 = 7501
        let poison = try #require(try await stack.upload(try await poisonJPEG(), filename: "poison.jpg", user: user).json["id"]?.intValue)
        // Each ImageService that takes the job dies in it; the broker gives the message to the next one.
        for start in 1...2 {
            let process = try stack.launch("mediaflow-image", extra: env.merging(["MEDIA_OPS_PORT": String(freePort())]) { $1 })
            #expect(await diedOfAbort(process, within: .seconds(60)), "ImageService \(start) died in the job (SIGABRT)")
        }
        // The third takes the delivery, sees two starts that never ended, and does not try a third time.
        let survivor = try stack.launch("mediaflow-image", extra: env.merging(["MEDIA_OPS_PORT": String(freePort())]) { $1 })
        let failed = try await stack.waitFor(poison, user: user, timeout: .seconds(60))
        #expect(failed["status"] == "failed", "\(failed)")
        #expect(failed["metadata"]?["error"]?["code"] == "processing_crashed", "\(failed)")
        let photo = try #require(try await stack.upload(try await Fixtures.jpeg(width: 800, height: 600), filename: "after.jpg",
                                                        user: user).json["id"]?.intValue)
        let ready = try await stack.waitFor(photo, user: user, timeout: .seconds(60))
        #expect(ready["status"] == "ready", "the next photo is processed: \(ready)")
        #expect(survivor.isRunning, "by the same process, still running")
        let starts = try await stack.sql("SELECT crashed_starts FROM processing_jobs WHERE media_id = \(poison)")
        #expect(starts == "2", "two starts a process died in: \(starts)")
    }

    /// Defect 5: 20 videos behind one VideoService, the Janitor's limit 5 s and stuck_processing every second: the
    /// videos waiting in the queue are not stuck, the running one beats, and every one ends ready, none republished.
    @Test(.timeLimit(.minutes(4)))
    func twentyQueuedVideosBehindOneServiceAreNeverJudgedStuck() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        let user: Int64 = 7502
        // MPEG-4 Part 2 in AVI: transcoded (not remuxed), about half a second each, so the last waits well past 5 s.
        let clip = try await Fixtures.make(
            "queued.avi", "-f lavfi -i testsrc2=size=640x360:rate=25:duration=3 -f lavfi -i sine=duration=3 -c:v mpeg4 -q:v 5 -c:a pcm_s16le")
        var ids: [Int64] = []
        for i in 0..<20 {
            var bytes = clip
            bytes.append(UInt8(i))  // unique bytes per upload
            ids.append(try #require(try await stack.upload(bytes, filename: "queued-\(i).avi", user: user, timeout: 60).json["id"]?.intValue))
        }
        let janitorPort = freePort()
        var settings = ["MEDIA_OPS_PORT": String(janitorPort), "MEDIA_JANITOR_STANDBY_POLL": "1s", "MEDIA_STUCK_AFTER": "5s",
                        "MEDIA_JANITOR_STUCK_PROCESSING_EVERY": "1s"]
        for task in ["FAILED_CLEANUP", "ORPHAN_SWEEP", "OUTBOX_WATCH"] { settings["MEDIA_JANITOR_\(task)_EVERY"] = "24h" }
        try stack.launch("mediaflow-janitor", extra: settings)
        try stack.launch("mediaflow-video", extra: ["MEDIA_OPS_PORT": String(freePort()), "MEDIA_HEARTBEAT_INTERVAL": "1s"])
        for id in ids {
            let media = try await stack.waitFor(id, user: user, timeout: .seconds(180))
            #expect(media["status"] == "ready", "\(id): \(media)")
        }
        let list = ids.map(String.init).joined(separator: ",")
        let published = try await stack.sql(
            """
            SELECT count(*) FROM outbox WHERE event_type = 'media.uploaded'
              AND (convert_from(body, 'UTF8')::jsonb ->> 'media_id')::bigint IN (\(list))
            """)
        #expect(published == "20", "each job went out once: none republished (\(published))")
        let republishes = try await stack.sql("SELECT coalesce(sum(stuck_republishes), 0) FROM media WHERE id IN (\(list))")
        #expect(republishes == "0")
        let runs = try await stack.sql("SELECT count(*) FROM janitor_runs WHERE task = 'stuck_processing' AND started_at > now() - interval '5 minutes'")
        #expect((Int(runs) ?? 0) >= 5, "stuck_processing ran all along: \(runs) runs")
    }
}
