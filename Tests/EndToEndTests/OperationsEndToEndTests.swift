import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MediaDomain
import Testing
import TestSupport

/// Operations with the real executables (SPEC §4, §6): two Janitors and a takeover, a stuck job republished,
/// dead letters replayed after their cause is gone (and a replay killed half-way), and processors that drain on
/// SIGTERM. Serialized: they share the test broker's queues.
@Suite("End to end: Janitor, dead-letter replay, drain", .serialized,
       .enabled(if: Stack.available && Stack.env["MEDIA_TEST_RABBITMQ_CTL"] != nil, "needs make test's servers and build"))
struct OperationsEndToEndTests {
    /// Gauges and counters from a service's `/metrics`.
    func metric(_ name: String, port: Int) async -> Double? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
              let (data, _) = try? await URLSession.shared.data(from: url)
        else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }

    func rabbit(_ command: String) async throws {
        guard let ctl = Stack.env["MEDIA_TEST_RABBITMQ_CTL"] else { throw StackError("MEDIA_TEST_RABBITMQ_CTL not set") }
        guard await runShell("\(ctl) rabbitmqctl \(command) >/dev/null") == 0 else { throw StackError("rabbitmqctl \(command) failed") }
    }

    func logLines(_ path: String, containing needles: [String]) -> [Substring] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { line in needles.allSatisfy { line.contains($0) } }
    }

    func logDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func twoJanitorsOneActsAndTheOtherTakesOverWhenItIsKilled() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        // outbox_watch every 2 s: the acting one's runs show in janitor_runs at once.
        let settings = ["MEDIA_JANITOR_STANDBY_POLL": "1s", "MEDIA_STUCK_AFTER": "24h", "MEDIA_JANITOR_OUTBOX_WATCH_EVERY": "2s"]
        let portA = freePort()
        let a = try stack.launch("mediaflow-janitor", extra: settings.merging(["MEDIA_OPS_PORT": String(portA)]) { $1 })
        #expect(await eventually(timeout: .seconds(30)) { await metric("mediaflow_janitor_acting", port: portA) == 1 },
                "the first Janitor acts")
        let portB = freePort()
        let b = try stack.launch("mediaflow-janitor", extra: settings.merging(["MEDIA_OPS_PORT": String(portB)]) { $1 })
        #expect(await eventually(timeout: .seconds(30)) { await metric("mediaflow_janitor_acting", port: portB) == 0 },
                "the second one answers and stands by")
        func runs(by process: ChildProcess) async throws -> Int {
            Int(try await stack.sql("SELECT count(*) FROM janitor_runs WHERE instance LIKE '%:\(process.processIdentifier)'")) ?? -1
        }
        let before = try await runs(by: a)
        try await Task.sleep(for: .seconds(5))
        #expect(try await runs(by: a) > before, "the acting one keeps running its tasks")
        #expect(try await runs(by: b) == 0, "the other one ran nothing: exactly one acts")
        #expect(await metric("mediaflow_janitor_acting", port: portB) == 0)

        kill(a.processIdentifier, SIGKILL)
        let killedAt = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(15), interval: .milliseconds(200)) {
            await metric("mediaflow_janitor_acting", port: portB) == 1
        }, "the other one takes over")
        let takeover = killedAt.duration(to: .now)
        #expect(takeover < .seconds(10), "takeover within the standby poll (\(takeover))")
        #expect(try await eventually(timeout: .seconds(10)) { try await runs(by: b) > 0 }, "and runs the tasks from then on")
        #expect(b.isRunning)
    }

    /// A Janitor of `stack` that acts (its own schedule a day apart, so only what the test asks runs), or nil.
    func actingJanitor(_ stack: Stack, extra: [String: String] = [:], log: String? = nil) async throws -> (ChildProcess, Int) {
        let port = freePort()
        var settings = ["MEDIA_OPS_PORT": String(port), "MEDIA_JANITOR_STANDBY_POLL": "1s"]
        for task in ["FAILED_CLEANUP", "ORPHAN_SWEEP", "STUCK_PROCESSING", "OUTBOX_WATCH"] { settings["MEDIA_JANITOR_\(task)_EVERY"] = "24h" }
        let janitor = try stack.launch("mediaflow-janitor", extra: settings.merging(extra) { $1 }, log: log)
        try #require(await eventually(timeout: .seconds(30)) { await metric("mediaflow_janitor_acting", port: port) == 1 },
                     "the Janitor acts")
        return (janitor, port)
    }

    @Test func aStuckJobIsRepublishedAndEndsReadyAndOneThatStaysStuckFails() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        // `mediactl janitor run` asks the acting Janitor: the task runs there, with the Janitor's settings.
        let (janitor, _) = try await actingJanitor(stack, extra: ["MEDIA_STUCK_REPUBLISH": "1"])
        let photo = try await Fixtures.jpeg(width: 800, height: 600)
        let voice = try await Fixtures.make("voice.wav", "-f lavfi -i sine=frequency=300:duration=2")
        let image = try #require(try await stack.upload(photo, filename: "stuck.jpg", user: 7301).json["id"]?.intValue)
        let audio = try #require(try await stack.upload(voice, filename: "stuck.wav", user: 7301).json["id"]?.intValue)
        // Both jobs reach their queues and are lost there (as with a broker that lost its disk): nothing will answer.
        #expect(try await eventually(timeout: .seconds(20)) {
            try await stack.sql(
                """
                SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL
                  AND (convert_from(body, 'UTF8')::jsonb ->> 'media_id')::bigint IN (\(image), \(audio))
                """) == "2"
        })
        try await rabbit("purge_queue image-service")
        try await rabbit("purge_queue audio-service")
        _ = try await stack.sql("UPDATE media SET updated_at = now() - interval '1 hour' WHERE id IN (\(image), \(audio))")

        // The image service comes; the Janitor's stuck_processing republishes both jobs.
        try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort())])
        let first = try stack.tool("mediactl", ["janitor", "run", "stuck_processing"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("republished: 2"), "\(first.output)")
        #expect(first.output.contains("ran in ") && first.output.contains(":\(janitor.processIdentifier)"),
                "run by the Janitor, not by mediactl: \(first.output)")
        let ready = try await stack.waitFor(image, user: 7301)
        #expect(ready["status"] == "ready", "the republished image job was processed: \(ready)")

        // No audio service, and the republished job is lost again: past the republish limit it fails with
        // processing_timeout. (While it waits in a queue it is not stuck, however long: see JobSafetyEndToEndTests.)
        try await rabbit("purge_queue audio-service")
        _ = try await stack.sql("UPDATE media SET updated_at = now() - interval '1 hour' WHERE id = \(audio)")
        let second = try stack.tool("mediactl", ["janitor", "run", "stuck_processing"])
        #expect(second.output.contains("failed: 1"), "\(second.output)")
        let failed = try await stack.request("GET", "/api/media/\(audio)/", user: 7301).json
        #expect(failed["status"] == "failed")
        #expect(failed["metadata"]?["error"]?["code"] == "processing_timeout")
        let run = try await stack.sql("SELECT counts::text FROM janitor_runs WHERE task = 'stuck_processing' ORDER BY id DESC LIMIT 1")
        #expect(run.contains("\"failed\": 1"), "the run is recorded: \(run)")
    }

    @Test(.timeLimit(.minutes(5)))
    func deadLettersAreReplayedOnceTheCauseIsGoneAndAKilledReplayLosesNothing() async throws {
        let logs = try logDirectory()
        let stack = try await Stack.start(processors: [], logDirectory: logs)
        defer { stack.stop() }
        // The Janitor records what lands in the dead queues; listing and replaying read those records.
        _ = try await actingJanitor(stack, log: "\(logs)/janitor.log")
        // A broken image service: its scratch folder cannot be made (TMPDIR names a file), a transient error every
        // time, so each job is retried (1 s, 5 s, 30 s) and then dead-lettered.
        let notADirectory = "\(logs)/not-a-directory"
        _ = FileManager.default.createFile(atPath: notADirectory, contents: Data("x".utf8))
        let broken = try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort()), "TMPDIR": notADirectory],
                                      log: "\(logs)/broken-image.log")
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        var ids: [Int64] = []
        for i in 0..<3 {
            ids.append(try #require(try await stack.upload(photo, filename: "dead-\(i).jpg", user: 7302).json["id"]?.intValue))
        }
        for id in ids {
            let media = try await stack.waitFor(id, user: 7302, timeout: .seconds(120))
            #expect(media["status"] == "failed" && media["metadata"]?["error"]?["code"] == "processing_failed", "\(media)")
        }
        broken.terminate()
        broken.waitUntilExit()
        // One of them is deleted meanwhile: its dead letter must be skipped, not replayed.
        #expect(try await stack.request("DELETE", "/api/media/\(ids[2])/", user: 7302).status == 204)

        let recorded = await eventually(timeout: .seconds(20)) {
            (try? await stack.sql("SELECT count(*) FROM dead_letters WHERE media_id IN (\(ids.map(String.init).joined(separator: ",")))")) == "3"
        }
        #expect(recorded, "the Janitor recorded the three dead letters")
        let list = try stack.tool("mediactl", ["dead", "list"])
        #expect(list.status == 0 && list.output.contains("image-service.dead") && list.output.contains("processing_error"),
                "\(list.output)")
        let dry = try stack.tool("mediactl", ["dead", "replay", "--code", "processing_error", "--dry-run"])
        #expect(dry.output.contains("would replay 2") && dry.output.contains("media_deleted"), "\(dry.output)")

        // The cause is gone: a working image service.
        let imageLog = "\(logs)/image.log"
        try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort())], log: imageLog)
        // A replay killed between its republish and its ack: the job goes out, the dead copy stays.
        let eventId = try await stack.sql(
            """
            SELECT event_id FROM outbox WHERE event_type = 'media.uploaded'
              AND (convert_from(body, 'UTF8')::jsonb ->> 'media_id')::bigint = \(ids[0])
            """)
        let killed = try stack.tool("mediactl", ["dead", "replay", "--event-id", eventId],
                                    extra: ["MEDIA_FAILPOINT": "replay.after-publish"])
        #expect(killed.status == 86, "the replay died at the failpoint: \(killed.output)")
        #expect(try await stack.waitFor(ids[0], user: 7302)["status"] == "ready", "nothing lost: the job was processed")
        // The killed replay's claim on its letter lapses (a lease of DeadLetters.claimLease); then it can be taken again.
        #expect(await eventually(timeout: .seconds(30)) {
            (try? await stack.sql("SELECT count(*) FROM dead_letters WHERE claimed_until > now()")) == "0"
        }, "the dead replay's claim lapsed")

        // The full replay: the killed one's dead copy is skipped (its media is ready), the other is replayed.
        let replay = try stack.tool("mediactl", ["dead", "replay", "--code", "processing_error"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains("replayed 1"), "\(replay.output)")
        #expect(replay.output.contains("already_ready") && replay.output.contains("media_deleted"), "\(replay.output)")
        #expect(try await stack.waitFor(ids[1], user: 7302)["status"] == "ready")
        // Other suites' dead letters may share the queue: what counts is that none of this test's is left.
        let left = try await stack.sql(
            "SELECT count(*) FROM dead_letters WHERE resolution IS NULL AND media_id IN (\(ids.map(String.init).joined(separator: ",")))")
        #expect(left == "0", "every dead letter of this test was replayed or skipped")
        for id in ids.prefix(2) {
            let processed = logLines(imageLog, containing: ["media ready", "media_id=\(id) "]).count
            #expect(processed == 1, "media \(id) processed exactly once (\(processed) times)")
        }
        let replays = try await stack.request("GET", "/api/media/\(ids[1])/", user: 7302).json
        #expect(replays["metadata"]?["attempts"]?.intValue == 1, "a fresh attempt count: \(replays)")
    }

    @Test(.timeLimit(.minutes(5)))
    func aVideoServiceDrainsOnSigterm() async throws {
        let logs = try logDirectory()
        let stack = try await Stack.start(processors: [], logDirectory: logs)
        defer { stack.stop() }
        // MPEG-4 Part 2 in AVI: transcoded, not remuxed; long enough to be stopped in the middle.
        let clip = try await Fixtures.make(
            "long.avi", "-f lavfi -i testsrc2=size=1280x720:rate=30:duration=20 -f lavfi -i sine=duration=20 -c:v mpeg4 -q:v 5 -c:a pcm_s16le")

        // Drain timeout shorter than the job: the job goes back to the queue, unspent, and another replica ends it.
        let short = try stack.launch("mediaflow-video", extra: ["MEDIA_OPS_PORT": String(freePort()), "MEDIA_DRAIN_TIMEOUT": "1s"],
                                     log: "\(logs)/video-short.log")
        let first = try #require(try await stack.upload(clip, filename: "drain-1.avi", user: 7303, timeout: 60).json["id"]?.intValue)
        #expect(try await eventually(timeout: .seconds(60), interval: .milliseconds(100)) {
            try await stack.request("GET", "/api/media/\(first)/", user: 7303).json["metadata"]?["progress"] != nil
        }, "the transcode started")
        let signalled = ContinuousClock.now
        short.terminate()
        short.waitUntilExit()
        #expect(signalled.duration(to: .now) < .seconds(15), "stopped after its 1 s drain, not at the end of the job")
        #expect(try await stack.request("GET", "/api/media/\(first)/", user: 7303).json["status"] == "processing")
        #expect(!logLines("\(logs)/video-short.log", containing: ["drain timeout"]).isEmpty, "it said why")
        let other = try stack.launch("mediaflow-video", extra: ["MEDIA_OPS_PORT": String(freePort())], log: "\(logs)/video-other.log")
        let done = try await stack.waitFor(first, user: 7303, timeout: .seconds(120))
        #expect(done["status"] == "ready", "\(done)")
        #expect(done["metadata"]?["attempts"]?.intValue == 1, "the drained attempt was not spent: \(done["metadata"] ?? .null)")
        other.terminate()
        other.waitUntilExit()

        // Drain timeout longer than the job: the job finishes before the process exits.
        let long = try stack.launch("mediaflow-video", extra: ["MEDIA_OPS_PORT": String(freePort()), "MEDIA_DRAIN_TIMEOUT": "3m"],
                                    log: "\(logs)/video-long.log")
        let second = try #require(try await stack.upload(clip, filename: "drain-2.avi", user: 7303, timeout: 60).json["id"]?.intValue)
        #expect(try await eventually(timeout: .seconds(60), interval: .milliseconds(100)) {
            try await stack.request("GET", "/api/media/\(second)/", user: 7303).json["metadata"]?["progress"] != nil
        })
        long.terminate()
        long.waitUntilExit()
        // The outcome was published before the process exited; the fold may take a moment more.
        let ready = try await stack.waitFor(second, user: 7303, timeout: .seconds(10))
        #expect(ready["status"] == "ready", "finished during the drain: \(ready)")
        #expect(!logLines("\(logs)/video-long.log", containing: ["media ready"]).isEmpty, "by the draining process itself")
    }

    @Test func mediactlGivesUpWithinFiveSecondsWhenTheDatabaseOrBrokerCannotBeReached() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        // A port that accepts connections and then never answers: the worst case for a client.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &length) } }
        listen(silent, 16)
        let port = Int(UInt16(bigEndian: address.sin_port))
        for (what, command, extra) in [
            ("PostgreSQL", ["stats", "--user-id", "1"], ["MEDIA_DATABASE_URL": "postgres://mediaflow@127.0.0.1:\(port)/mediaflow"]),
            ("PostgreSQL", ["janitor", "run", "outbox_watch"], ["MEDIA_DATABASE_URL": "postgres://mediaflow@127.0.0.1:\(freePort())/mediaflow"]),
            ("RabbitMQ", ["janitor", "run", "outbox_watch"], ["MEDIA_AMQP_URL": "amqp://mediaflow:mediaflow@127.0.0.1:\(port)/"]),
        ] {
            let result = try stack.tool("mediactl", command, extra: extra)
            #expect(result.status == 1, "\(what): \(result.output)")
            #expect(result.output.contains("cannot reach \(what)"), "\(result.output)")
            #expect(result.elapsed < .seconds(7), "\(what): gave up after \(result.elapsed)")
        }
    }
}
