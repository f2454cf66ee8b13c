import Foundation
import MediaDomain
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Faults while the real stack works (issue 9): the database or the broker stopped and started again, a
/// processor SIGKILLed, concurrent users, hostile files. Each test checks the final state of every media it made.
///
/// Stopping the test PostgreSQL/RabbitMQ would break any suite running at the same time: `scripts/test.sh`
/// runs the suites serially.
@Suite("End to end: faults", .serialized,
       .enabled(if: Stack.available && FaultControl.available,
                "needs MEDIA_TEST_BIN_DIR, the test servers and their control script (scripts/test.sh)"))
struct FaultToleranceEndToEndTests {
    // MARK: 1. PostgreSQL outage

    @Test func databaseOutageAnswers503QuicklyAndEveryAcceptedUploadEndsReady() async throws {
        let logs = try makeLogDirectory()
        let stack = try await Stack.start(processors: ["mediaflow-image"], logDirectory: logs)
        defer {
            stack.stop()
            // MEDIA_TEST_KEEP_LOGS=1 keeps the services' logs to read after a failure.
            if ProcessInfo.processInfo.environment["MEDIA_TEST_KEEP_LOGS"] == nil {
                try? FileManager.default.removeItem(atPath: logs)
            } else {
                print("process logs kept in \(logs)")
            }
        }
        let gateway = try #require(stack.processes(named: "mediaflow-gateway").first)
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let user = randomUser()
        let seed = try await stack.upload(photo, filename: "seed.jpg", user: user)
        let seedId = try #require(seed.json["id"]?.intValue, "\(seed.status) \(seed.json)")

        // Two clients upload without pause for the whole test, gap included.
        let uploads = Collected<Timed>()
        let stopUploading = Flag()
        let uploaders = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<2 {
                    group.addTask {
                        var n = 0
                        while !stopUploading.isRaised {
                            n += 1
                            uploads.append(await timed("upload \(client)-\(n)") {
                                try await stack.upload(photo, filename: "p\(client)-\(n).jpg", user: user, timeout: 60)
                            })
                            try? await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
            }
        }
        let warm = await eventually(timeout: .seconds(30)) { uploads.all.filter { $0.status == 201 }.count >= 4 }
        #expect(warm, "uploads are answered before the outage: \(uploads.all.map(\.summary))")

        // The gap: 5 s with PostgreSQL down, reads probed too. PostgreSQL restarts on time even if requests hang.
        let probes = Collected<Timed>()
        let gapOver = Flag()
        var prober: Task<Void, Never>?
        var gapStart = ContinuousClock.now
        var gapEnd = gapStart
        let gap: Result<Void, any Error> = await capture {
            try await FaultControl.run("pg-stop")
            gapStart = .now
            // Rounds of one upload and four reads at once, the first starting right away.
            prober = Task {
                let paths = ["/api/media/", "/api/media/stats/", "/api/media/\(seedId)/", "/readyz"]
                var round = 0
                while !gapOver.isRaised {
                    round += 1
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { [round] in
                            probes.append(await timed("upload gap-\(round)") {
                                try await stack.upload(photo, filename: "gap\(round).jpg", user: user, timeout: 60)
                            })
                        }
                        for path in paths {
                            group.addTask {
                                probes.append(await timed("GET \(path)") {
                                    try await stack.request("GET", path, user: user, timeout: 60)
                                })
                            }
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            try await Task.sleep(for: .seconds(5))
            gapOver.raise()
            gapEnd = .now
        }
        try await FaultControl.run("pg-start")
        try gap.get()
        await prober?.value

        // Serves again, with the same Gateway process.
        let restarted = ContinuousClock.now
        let serving = await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
            uploads.all.contains { $0.started > restarted && $0.status == 201 }
        }
        let gatewayLog = "\(logs)/mediaflow-gateway.log"
        #expect(serving, """
            uploads succeed again after PostgreSQL restarted: \(uploads.all.suffix(5).map(\.summary)); \
            the Gateway's last warnings: \(logLines(gatewayLog, containing: " warning ").suffix(10))
            """)
        let reads = try await stack.request("GET", "/api/media/stats/", user: user)
        #expect(reads.status == 200, "\(reads.status) \(reads.json)")
        stopUploading.raise()
        await uploaders.value
        #expect(gateway.isRunning, "the Gateway did not crash")

        let all = uploads.all + probes.all
        let duringGap = all.filter { $0.started >= gapStart && $0.started < gapEnd }
        for attempt in duringGap {
            #expect(attempt.elapsed < .seconds(10), "answered within 10 s, never hangs: \(attempt.summary)")
        }
        for attempt in all {
            // What the Gateway said meanwhile goes with a failure: the log folder is removed after the test.
            #expect(attempt.error == nil, """
                every request gets an HTTP answer: \(attempt.summary); the Gateway's last errors and warnings: \
                \(logLines(gatewayLog, containing: " error ").suffix(8)) \(logLines(gatewayLog, containing: " warning ").suffix(8))
                """)
            guard let status = attempt.status, status != 201, status != 200 else { continue }
            #expect(status == 503, "\(attempt.summary)")
            if attempt.what.hasPrefix("upload") {
                // `unavailable` when the rate limit or the quota could not be checked (SPEC §10: never "allowed
                // because we could not check"); `database_unavailable` when the checks passed and the row's write met
                // the outage.
                #expect(["unavailable", "database_unavailable"].contains(attempt.json["code"]?.stringValue ?? ""),
                        "\(attempt.summary)")
                #expect(attempt.json["detail"]?.stringValue?.isEmpty == false, "\(attempt.summary)")
            } else if attempt.what != "GET /readyz" {
                #expect(attempt.json["code"] == "database_unavailable", "\(attempt.summary)")
                #expect(attempt.json["detail"]?.stringValue?.isEmpty == false, "\(attempt.summary)")
            }
        }
        // Requests started and answered while PostgreSQL was down: all refused, uploads included (nothing stored).
        let insideGap = all.filter { $0.started >= gapStart && $0.started + $0.elapsed < gapEnd }
        #expect(insideGap.contains { $0.what.hasPrefix("upload") }, "uploads ran during the gap")
        // A round's reads start together; one that outlives the 5 s gap (seen once in CI on a loaded machine: the
        // list page) is still bound by the 10 s check above, so reads of any kind answered inside the gap suffice.
        #expect(insideGap.contains { $0.what.hasPrefix("GET /api/") }, "reads ran during the gap: \(duringGap.map(\.summary))")
        #expect(duringGap.contains { $0.what == "GET /api/media/" }, "list pages were asked for during the gap")
        for attempt in insideGap { #expect(attempt.status == 503, "\(attempt.summary)") }

        let accepted = all.filter { $0.what.hasPrefix("upload") && $0.status == 201 }
        var ids = [seedId]
        for attempt in accepted { ids.append(try #require(attempt.json["id"]?.intValue, "\(attempt.summary)")) }
        // The status consumer waits for the database rather than giving up (a pool lease waits up to a minute, and a
        // fold begun during the gap may wait twice): seen once, a media processed during the gap was folded ready
        // 126 s after its upload (CI, 2026-11-30). Every one must end ready; 4 minutes is the bound.
        for id in ids {
            let media = try await stack.waitFor(id, user: user, timeout: .seconds(240))
            #expect(media["status"] == "ready", "media \(id) answered 201 ends ready: \(media)")
            #expect(media["width"]?.intValue == 640 && media["height"]?.intValue == 480, "media \(id)")
        }
        // Refused uploads left nothing behind: each accepted one is its original and its renditions. The one
        // exception is an upload whose COMMIT met the shutdown: whether its row exists is unknown, so the Gateway
        // keeps its original and says so. Its folder then holds that original alone (rolled back) or, if the
        // commit was durable after all, the files of a media processed without a 201.
        let perMedia = RenditionCatalog.names(for: .image).count + 1
        let files = try await stack.storedKeys()
        // media/<uuid>/original.jpg and media/<uuid>/g1/<rendition>: one media's files under media/<uuid>.
        let folders = Dictionary(grouping: files) { String($0.split(separator: "/").prefix(2).joined(separator: "/")) }
        let kept = logLines(gatewayLog, containing: "original kept")
        let keptFiles = folders.filter { folder, _ in kept.contains { $0.contains(folder) } }.values.map(\.count)
        #expect(files.count == ids.count * perMedia + keptFiles.reduce(0, +), """
            \(files.count) files for \(ids.count) media; folders without \(perMedia) files: \
            \(folders.filter { $0.value.count != perMedia }); kept originals: \(kept); \
            the Gateway's errors: \(logLines(gatewayLog, containing: " error ").suffix(10))
            """)
        for (folder, names) in folders where names.count != perMedia {
            #expect(names.count == 1 && kept.contains { $0.contains(folder) }, "\(folder): \(names)")
        }
        #expect(keptFiles.count == kept.count, "every kept original is still stored: \(kept)")
        #expect(stack.processes(named: "mediaflow-image").allSatisfy { $0.isRunning }, "the ImageService did not crash")
    }

    // MARK: 2. RabbitMQ outage

    @Test func brokerOutageDuringABurstLosesNothingAndProcessesEachOnce() async throws {
        let logs = try makeLogDirectory()
        let stack = try await Stack.start(processors: ["mediaflow-image"], logDirectory: logs)
        defer {
            stack.stop()
            try? FileManager.default.removeItem(atPath: logs)
        }
        let imageLog = "\(logs)/mediaflow-image.log"
        #expect(await eventually(timeout: .seconds(60)) { !logLines(imageLog, containing: "worker consuming").isEmpty })
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let user = randomUser()
        let burst = (0..<30).map { Upload(photo, "b\($0).jpg", user: user, expect: .ready(640, 480)) }

        // The burst is paced over a few seconds; the broker stops once 8 uploads are answered (their jobs are under
        // way) and stays down for the rest of the burst and 2 s more.
        let answered = Tally()
        var results: [(Upload, Stack.Reply)] = []
        let outage: Result<Void, any Error> = await capture {
            try await withThrowingTaskGroup(of: [(Upload, Stack.Reply)].self) { group in
                group.addTask {
                    try await uploadAll(stack, burst, concurrency: 3, pause: .milliseconds(250)) { answered.increment() }
                }
                group.addTask {
                    _ = await eventually(timeout: .seconds(60), interval: .milliseconds(20)) { answered.value >= 8 }
                    try await FaultControl.run("rabbitmq-stop")
                    return []
                }
                for try await part in group { results += part }
            }
            try await Task.sleep(for: .seconds(2))
        }
        try await FaultControl.run("rabbitmq-start")
        try outage.get()
        #expect(results.count == 30)
        #expect(!logLines("\(logs)/mediaflow-gateway.log", containing: "outbox events not published").isEmpty,
                "uploads were accepted while the broker was down")

        let ids = try await expectFinalStates(stack, results)
        // Each made exactly once: redeliveries after the outage are recognised, not processed again.
        let made = logLines(imageLog, containing: "media ready")
        #expect(made.count == ids.count, "\(made.count) 'media ready' lines for \(ids.count) media")
        for id in ids {
            #expect(made.filter { mentions($0, mediaId: id) }.count == 1, "media \(id) made once")
        }
        for p in stack.processes(named: "mediaflow-gateway") + stack.processes(named: "mediaflow-image") {
            #expect(p.isRunning, "no service crashed")
        }
    }

    // MARK: 3. ImageService SIGKILLed

    @Test func imageServiceKilledMidBurstAndRestartedLeavesEveryImageReady() async throws {
        let logs = try makeLogDirectory()
        let stack = try await Stack.start(processors: [], logDirectory: logs)
        defer {
            stack.stop()
            try? FileManager.default.removeItem(atPath: logs)
        }
        let first = try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort())], log: "\(logs)/first.log")
        #expect(await eventually(timeout: .seconds(60)) { !logLines("\(logs)/first.log", containing: "worker consuming").isEmpty })
        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let user = randomUser()
        let burst = (0..<30).map { Upload(photo, "k\($0).jpg", user: user, expect: .ready(640, 480)) }

        async let results = uploadAll(stack, burst, concurrency: 3, pause: .milliseconds(100))
        // Kill it once it has made a few: it holds more, and more are still being uploaded.
        let started = await eventually(timeout: .seconds(60), interval: .milliseconds(20)) {
            logLines("\(logs)/first.log", containing: "media ready").count >= 3
        }
        kill(first.processIdentifier, SIGKILL)
        while first.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let madeBeforeKill = logLines("\(logs)/first.log", containing: "media ready").count
        let uploaded = try await results
        #expect(started && madeBeforeKill < 30, "killed mid-burst (\(madeBeforeKill) made before)")

        let second = try stack.launch("mediaflow-image", extra: ["MEDIA_OPS_PORT": String(freePort())], log: "\(logs)/second.log")
        _ = try await expectFinalStates(stack, uploaded)
        #expect(second.isRunning)
        #expect(stack.processes(named: "mediaflow-gateway").allSatisfy { $0.isRunning })
    }

    // MARK: 4. Three users, mixed media, at once

    @Test func concurrentMixedUploadsOfThreeUsersKeepEachUsersFiguresExact() async throws {
        let stack = try await Stack.start(processors: ["mediaflow-image", "mediaflow-video", "mediaflow-audio"])
        defer { stack.stop() }
        let f = try await MixedFixtures.make()
        let users = [randomUser(), randomUser(), randomUser()]
        // (image, video, audio) counts per user, 10 each, all private.
        let plan = [(6, 2, 2), (3, 3, 4), (2, 5, 3)]
        var burst: [Upload] = []
        for (u, (images, videos, audio)) in plan.enumerated() {
            let user = users[u]
            for i in 0..<images {
                burst.append(i % 3 == 2
                    ? Upload(f.png, "u\(u)-\(i).png", user: user, isPublic: false, expect: .ready(640, 480))
                    : Upload(f.jpeg, "u\(u)-\(i).jpg", user: user, isPublic: false, expect: .ready(640, 480)))
            }
            for i in 0..<videos {
                burst.append(i % 2 == 0
                    ? Upload(f.mp4, "u\(u)-\(i).mp4", user: user, isPublic: false, expect: .ready(320, 240))
                    : Upload(f.avi, "u\(u)-\(i).avi", user: user, isPublic: false, expect: .ready(320, 240)))
            }
            for i in 0..<audio {
                burst.append(i % 2 == 0
                    ? Upload(f.mp3, "u\(u)-\(i).mp3", user: user, isPublic: false, expect: .audioReady(seconds: 2))
                    : Upload(f.wav, "u\(u)-\(i).wav", user: user, isPublic: false, expect: .audioReady(seconds: 2)))
            }
        }
        let results = try await uploadAll(stack, burst.shuffled(), concurrency: burst.count)
        _ = try await expectFinalStates(stack, results)

        for (u, (images, videos, audio)) in plan.enumerated() {
            let user = users[u]
            let mine = results.filter { $0.0.user == user }
            let ids = Set(mine.compactMap { $0.1.json["id"]?.intValue })
            let stats = try await stack.request("GET", "/api/media/stats/", user: user).json
            #expect(stats["total"] == 10, "user \(u): \(stats)")
            #expect(stats["by_type"] == ["image": .int(Int64(images)), "video": .int(Int64(videos)), "audio": .int(Int64(audio))],
                    "user \(u): \(stats)")
            #expect(stats["by_status"] == ["ready": 10, "processing": 0, "failed": 0, "uploading": 0], "user \(u): \(stats)")
            #expect(stats["total_size"]?.intValue == mine.reduce(0) { $0 + Int64($1.0.data.count) }, "user \(u): \(stats)")

            let list = try await stack.request("GET", "/api/media/?page_size=100", user: user).json
            #expect(list["count"] == 10, "user \(u)")
            guard case .array(let items)? = list["results"] else {
                Issue.record("user \(u): no results in \(list)")
                continue
            }
            let listed = items.compactMap { $0["id"]?.intValue }
            #expect(Set(listed) == ids && listed.count == ids.count, "user \(u) lists only their own media")
            #expect(items.allSatisfy { $0["user"]?.intValue == user })
            // Another user's private media is not found, not forbidden.
            let other = users[(u + 1) % users.count]
            if let id = ids.first {
                #expect(try await stack.request("GET", "/api/media/\(id)/", user: other).status == 404)
            }
        }
    }

    // MARK: 5. Hostile files in a burst

    @Test func hostileFilesFailWithTheirCodesAndTheRestOfTheBurstEndsReady() async throws {
        let stack = try await Stack.start(processors: ["mediaflow-image", "mediaflow-video"])
        defer { stack.stop() }
        let f = try await MixedFixtures.make()
        let user = randomUser()
        var burst = (0..<10).map { Upload(f.jpeg, "h\($0).jpg", user: user, expect: .ready(640, 480)) }
        burst += (0..<3).map { Upload(f.mp4, "h\($0).mp4", user: user, expect: .ready(320, 240)) }
        burst.append(Upload(try await Fixtures.pixelBomb(), "bomb.png", user: user, expect: .failed("image_too_large")))
        // Half an MP4 whose index (moov) is at the end: no index, nothing to demux.
        burst.append(Upload(f.mp4.prefix(f.mp4.count / 2), "cut.mp4", user: user, expect: .failed("decode_failed")))
        burst.append(Upload(f.jpeg.prefix(f.jpeg.count / 2), "cut.jpg", user: user, expect: .failed("decode_failed")))

        let results = try await uploadAll(stack, burst.shuffled(), concurrency: burst.count)
        _ = try await expectFinalStates(stack, results)
        for p in stack.processes(named: "mediaflow-image") + stack.processes(named: "mediaflow-video") {
            #expect(p.isRunning, "hostile input crashed no processor")
        }
    }
}

// MARK: - Support

/// The test servers' control script (`scripts/services.sh test`), as `scripts/test.sh` exports it.
enum FaultControl {
    static var available: Bool {
        Stack.env["MEDIA_TEST_PG_CTL"] != nil && Stack.env["MEDIA_TEST_RABBITMQ_CTL"] != nil
    }

    /// `pg-stop`, `pg-start`, `rabbitmq-stop` or `rabbitmq-start`; returns once the server is down or up.
    static func run(_ command: String) async throws {
        let variable = command.hasPrefix("pg-") ? "MEDIA_TEST_PG_CTL" : "MEDIA_TEST_RABBITMQ_CTL"
        guard let script = Stack.env[variable] else { throw StackError("\(variable) not set") }
        let status = await runShell("\(script) \(command)")
        guard status == 0 else { throw StackError("\(script) \(command) exited \(status)") }
    }
}

/// One file of a burst and what should become of it.
struct Upload: Sendable {
    enum Outcome: Sendable {
        case ready(Int, Int)
        case audioReady(seconds: Double)
        case failed(String)
    }

    var data: Data
    var filename: String
    var user: Int64
    var isPublic: Bool
    var expect: Outcome

    /// `data` is sent as a copy no other upload has (`Fixtures.distinct`): each upload of a burst is processed. A file
    /// expected to fail is sent exactly as made (a tag after a truncated file's end may change what a decoder sees).
    init(_ data: Data, _ filename: String, user: Int64, isPublic: Bool = true, expect: Outcome) {
        if case .failed = expect { self.data = data } else { self.data = Fixtures.distinct(data) }
        self.filename = filename
        self.user = user
        self.isPublic = isPublic
        self.expect = expect
    }
}

/// Uploads every item, at most `concurrency` at once (each client pausing `pause` after its upload, calling
/// `onAnswer` as each reply arrives); the replies in the order of `items`.
func uploadAll(
    _ stack: Stack, _ items: [Upload], concurrency: Int, pause: Duration = .zero,
    onAnswer: @escaping @Sendable () -> Void = {}
) async throws -> [(Upload, Stack.Reply)] {
    try await withThrowingTaskGroup(of: (Int, Stack.Reply).self) { group in
        var pending = items.enumerated().makeIterator()
        func start(_ next: (offset: Int, element: Upload)?) {
            guard let (index, item) = next else { return }
            group.addTask {
                let reply = try await stack.upload(item.data, filename: item.filename, user: item.user,
                                                   isPublic: item.isPublic, timeout: 60, asIs: true)
                onAnswer()
                if pause > .zero { try await Task.sleep(for: pause) }
                return (index, reply)
            }
        }
        for _ in 0..<max(1, concurrency) { start(pending.next()) }
        var replies: [Int: Stack.Reply] = [:]
        while let (index, reply) = try await group.next() {
            replies[index] = reply
            start(pending.next())
        }
        return items.indices.compactMap { i in replies[i].map { (items[i], $0) } }
    }
}

/// Every upload was answered 201 and its media ends as expected (waiting up to 120 s each); returns the ids.
@discardableResult
func expectFinalStates(_ stack: Stack, _ results: [(Upload, Stack.Reply)]) async throws -> [Int64] {
    var ids: [Int64] = []
    for (upload, reply) in results {
        #expect(reply.status == 201, "\(upload.filename): \(reply.status) \(reply.json)")
        guard let id = reply.json["id"]?.intValue else { continue }
        ids.append(id)
        let media = try await stack.waitFor(id, user: upload.user, timeout: .seconds(120))
        let what = "\(upload.filename) (media \(id)): \(media)"
        switch upload.expect {
        case .ready(let width, let height):
            #expect(media["status"] == "ready", "\(what)")
            #expect(media["width"]?.intValue == Int64(width) && media["height"]?.intValue == Int64(height), "\(what)")
        case .audioReady(let seconds):
            #expect(media["status"] == "ready", "\(what)")
            #expect(media["file_type"] == "audio", "\(what)")
            #expect(number(media["duration"]).map { abs($0 - seconds) < 0.2 } == true, "\(what)")
            #expect(media["urls"]?["audio"]?.stringValue != nil && media["urls"]?["waveform"]?.stringValue != nil, "\(what)")
        case .failed(let code):
            #expect(media["status"] == "failed", "\(what)")
            #expect(media["metadata"]?["error"]?["code"] == .string(code), "\(what)")
        }
    }
    return ids
}

/// Small fixtures of each kind (2 s clips at 320x240, 640x480 stills), made once per test.
struct MixedFixtures {
    var jpeg, png, mp4, avi, mp3, wav: Data

    static func make() async throws -> MixedFixtures {
        let clip = "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 -f lavfi -i sine=duration=2 -shortest"
        return MixedFixtures(
            jpeg: try await Fixtures.jpeg(width: 640, height: 480),
            png: try await Fixtures.make("still.png", "-f lavfi -i testsrc2=size=640x480 -frames:v 1"),
            // H.264 + AAC (remuxed), index at the end (ffmpeg's default): half of it has no index.
            mp4: try await Fixtures.make("clip.mp4", "\(clip) -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac"),
            // Motion JPEG + MP3 (transcoded).
            avi: try await Fixtures.make("clip.avi", "\(clip) -c:v mjpeg -q:v 6 -c:a libmp3lame"),
            mp3: try await Fixtures.make("tone.mp3", "-f lavfi -i sine=frequency=440:duration=2 -c:a libmp3lame"),
            wav: try await Fixtures.make("tone.wav", "-f lavfi -i sine=frequency=440:duration=2"))
    }
}

/// A request's timing and answer (or the error that took its place).
struct Timed: Sendable {
    var what: String
    var started: ContinuousClock.Instant
    var elapsed: Duration
    var status: Int?
    var json: [String: JSONValue]
    var error: String?

    var summary: String {
        "\(what): \(status.map(String.init) ?? "no answer") after \(elapsed) \(error ?? "\(json)")"
    }
}

func timed(_ what: String, _ body: () async throws -> Stack.Reply) async -> Timed {
    let started = ContinuousClock.now
    do {
        let reply = try await body()
        return Timed(what: what, started: started, elapsed: started.duration(to: .now), status: reply.status,
                     json: reply.json, error: nil)
    } catch {
        return Timed(what: what, started: started, elapsed: started.duration(to: .now), status: nil, json: [:],
                     error: "\(error)")
    }
}

/// Runs `body`, keeping its error for later (so a server stopped before it is started again first).
func capture(_ body: () async throws -> Void) async -> Result<Void, any Error> {
    do {
        try await body()
        return .success(())
    } catch {
        return .failure(error)
    }
}

/// Items appended by concurrent tasks.
final class Collected<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])
    func append(_ item: Item) { items.withLock { $0.append(item) } }
    var all: [Item] { items.withLock { $0 } }
}

final class Tally: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func increment() { count.add(1, ordering: .relaxed) }
}

final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .relaxed) }
    func raise() { raised.store(true, ordering: .relaxed) }
}

func makeLogDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-logs-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func logLines(_ log: String, containing text: String) -> [Substring] {
    ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(text) }
}

/// Whether a log line carries `media_id=<id>` (not a longer id that starts with it).
func mentions(_ line: Substring, mediaId id: Int64) -> Bool {
    line.contains("media_id=\(id) ") || line.hasSuffix("media_id=\(id)")
}

func number(_ value: JSONValue?) -> Double? {
    switch value {
    case .int(let i)?: Double(i)
    case .double(let d)?: d
    default: nil
    }
}

func randomUser() -> Int64 { Int64.random(in: 10_000_000...1_000_000_000) }
