import Foundation
import MediaDomain
import Testing
import TestSupport

/// Live status and webhooks (SPEC §8) against the real services: an SSE client sees its video's progress and then
/// ready, none of another user's, and after a dropped connection resumes from `Last-Event-ID` with nothing missed and
/// nothing twice; a webhook receiver gets signed deliveries retried on 500s, and a delivery made while the receiver
/// was down arrives after the sender (the Gateway) was killed and started again.
@Suite("End to end: live status and webhooks", .serialized,
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct LiveStatusEndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test(.timeLimit(.minutes(5)))
    func aStreamShowsProgressThenReadyAndResumesWithoutLossOrRepeats() async throws {
        let userA = Int64.random(in: 700_000..<800_000), userB = userA + 1
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // MPEG-4 Part 2 is not web-ready: the video is transcoded (for seconds), so it reports progress.
        let video = "\(directory)/clip.mp4", image = "\(directory)/photo.jpg"
        #expect(await runShell("ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 -c:v mpeg4 -q:v 5 '\(video)'") == 0)
        try (try await Fixtures.jpeg(width: 640, height: 480)).write(to: URL(fileURLWithPath: image))

        let stack = try await Stack.start(processors: ["mediaflow-video", "mediaflow-image"],
                                          overrides: ["MEDIA_SSE_KEEPALIVE": "1s"])
        defer { stack.stop() }
        // A second Gateway on the same servers: the client resumes there (events come from PostgreSQL, not from
        // the memory of the Gateway that folded them).
        let port2 = freePort()
        let gateway2 = "http://127.0.0.1:\(port2)"
        try stack.launch("mediaflow-gateway", extra: ["MEDIA_HTTP_PORT": String(port2), "MEDIA_PUBLIC_BASE_URL": gateway2])
        #expect(await eventually(timeout: .seconds(60)) { (try? await stack.request("GET", "\(gateway2)/readyz").status) == 200 })
        let script = Self.root.appendingPathComponent("Tests/LiveStatus/sse_client.py").path
        let (status, output) = try runCapturing("/usr/bin/env", ["python3", script], environment: [
            "MEDIA_SSE_GATEWAY": stack.baseURL, "MEDIA_SSE_GATEWAY2": gateway2, "MEDIA_SSE_TOKEN_A": stack.token(user: userA),
            "MEDIA_SSE_TOKEN_B": stack.token(user: userB), "MEDIA_SSE_VIDEO": video, "MEDIA_SSE_IMAGE": image,
        ])
        #expect(status == 0, "the SSE client: \(output)")
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        print("sse client: \(line)")
        let result = try JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8))
        #expect(result["a_status"]?.intValue == 200 && result["a_content_type"] == "text/event-stream")
        #expect(result["b_status"]?.intValue == 200, "a ticket opens the stream")
        #expect(result["ticket_reuse_status"]?.intValue == 401, "a ticket is used once")
        let videoId = try #require(result["video"]?.intValue), imageId = try #require(result["image"]?.intValue)

        func events(_ key: String) -> [[String: JSONValue]] {
            guard case .array(let items)? = result[key] else { return [] }
            return items.compactMap { if case .object(let o) = $0 { o } else { nil } }
        }
        let first = events("first"), second = events("second"), seen = first + second
        let ids = seen.compactMap { $0["id"]?.intValue }
        // Progress then ready, for A's own video only.
        #expect(first.filter { $0["type"] == "media.progress" }.count == 2, "dropped after the second progress: \(first)")
        #expect(seen.allSatisfy { $0["media"]?.intValue == videoId }, "only A's own media: \(seen)")
        #expect(seen.last?["type"] == "media.ready" && seen.last?["status"] == "ready")
        #expect(seen.dropLast().allSatisfy { $0["type"] == "media.progress" })
        let percents: [Double] = seen.compactMap {
            switch $0["percent"] { case .int(let n)?: Double(n); case .double(let d)?: d; default: nil }
        }
        #expect(percents == percents.sorted() && percents.count >= 3, "progress only grows: \(percents)")
        // The reconnection (to the second Gateway) went on from the last id seen: nothing twice, nothing missed (the
        // log holds A's events).
        #expect(!second.isEmpty, "the video was still going when the stream dropped")
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "no event twice: \(ids)")
        // A stream's event id is the event's position (commit order), not its row id: the two differ whenever another
        // user's event was inserted before and committed after one of A's.
        let recorded = try await stack.sql(
            "SELECT string_agg(position::text, ',' ORDER BY position) FROM media_events WHERE user_id = \(userA)")
        #expect(recorded == ids.map(String.init).joined(separator: ","), "every event of A's, once: \(recorded) vs \(ids)")
        #expect((result["a_comments"]?.intValue ?? 0) >= 1, "keep-alive comments while idle")
        // B saw its own image ready and nothing of A's.
        let b = events("b_events")
        #expect(b.map { $0["media"]?.intValue } == [imageId] && b.first?["type"] == "media.ready", "B's stream: \(b)")
    }

    @Test(.timeLimit(.minutes(5)))
    func webhooksAreSignedRetriedAndOutliveTheSender() async throws {
        let owner = Int64.random(in: 800_000..<900_000)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hooks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stack = try await Stack.start(processors: ["mediaflow-image"], overrides: [
            "MEDIA_WEBHOOK_ALLOW_PRIVATE": "true", "MEDIA_WEBHOOK_RETRY_SCHEDULE": "1s,1s,1s,1s,1s",
        ])
        defer { stack.stop() }
        let receiverScript = Self.root.appendingPathComponent("Tests/Webhooks/webhook_receiver.py").path
        var receivers: [ChildProcess] = []
        // SIGKILL: nothing of a receiver is worth a clean stop, and it must not outlive the test.
        defer { for r in receivers { r.send(SIGKILL); r.waitUntilExit() } }
        func receiver(port: Int, name: String, failFirst: Int) throws {
            receivers.append(try ChildProcess("/usr/bin/env", [
                "python3", receiverScript, String(port), "\(directory)/\(name).secret", "\(directory)/\(name).log", String(failFirst),
            ], output: .discard))
        }
        func received(_ name: String) -> [[String: JSONValue]] {
            guard let text = try? String(contentsOfFile: "\(directory)/\(name).log", encoding: .utf8) else { return [] }
            return text.split(separator: "\n").compactMap { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) }
        }
        func register(_ url: String) async throws -> [String: JSONValue] {
            let reply = try await stack.request("POST", "/api/webhooks/", user: owner,
                body: Data(#"{"url": "\#(url)", "events": ["media.ready"]}"#.utf8), headers: ["Content-Type": "application/json"])
            #expect(reply.status == 201, "\(reply.json)")
            return reply.json
        }
        func deliveries(_ hook: Int64) async throws -> [[String: JSONValue]] {
            guard case .array(let items)? = try await stack.request("GET", "/api/webhooks/\(hook)/deliveries/", user: owner).json["results"]
            else { return [] }
            return items.compactMap { if case .object(let o) = $0 { o } else { nil } }
        }
        func attempts(_ delivery: [String: JSONValue]) -> [[String: JSONValue]] {
            guard case .array(let items)? = delivery["attempts"] else { return [] }
            return items.compactMap { if case .object(let o) = $0 { o } else { nil } }
        }

        // 1. A receiver that answers 500 twice, then 200.
        let port = freePort()
        try receiver(port: port, name: "flaky", failFirst: 2)
        let hook = try await register("http://127.0.0.1:\(port)/hooks/media")
        let hookId = try #require(hook["id"]?.intValue)
        let secret = try #require(hook["secret"]?.stringValue)
        try secret.write(toFile: "\(directory)/flaky.secret", atomically: true, encoding: .utf8)
        #expect(try await stack.request("GET", "/api/webhooks/\(hookId)/", user: owner).json["secret"] == nil, "shown once")
        #expect(try await stack.request("GET", "/api/webhooks/\(hookId)/", user: owner + 1).status == 404)

        let uploaded = try await stack.upload(try await Fixtures.jpeg(width: 320, height: 240), filename: "hooked.jpg", user: owner)
        let mediaId = try #require(uploaded.json["id"]?.intValue)
        var delivery: [String: JSONValue] = [:]
        #expect(await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
            delivery = (try? await deliveries(hookId).first) ?? [:]
            return delivery["status"] == "succeeded"
        }, "delivered: \(delivery)")
        #expect(attempts(delivery).map { $0["response_code"]?.intValue } == [500, 500, 200], "three attempts: \(delivery)")
        #expect(attempts(delivery).map { $0["status"]?.stringValue } == ["failed", "failed", "succeeded"])
        let requests = received("flaky")
        #expect(requests.count == 3, "\(requests)")
        #expect(requests.allSatisfy { $0["valid"] == true && $0["fresh"] == true }, "every signature verifies with the secret")
        #expect(Set(requests.compactMap { $0["webhook_id"]?.stringValue }).count == 1, "one message id for every attempt")
        #expect(Set(requests.compactMap { $0["body"]?.stringValue }).count == 1, "the same body every time")
        #expect(requests.filter { $0["answered"]?.intValue == 200 }.count == 1, "the event arrived once")
        let body = try JSONDecoder().decode([String: JSONValue].self, from: Data((requests.first?["body"]?.stringValue ?? "").utf8))
        #expect(body["type"] == "media.ready" && body["timestamp"]?.stringValue?.hasSuffix("Z") == true)
        #expect(body["data"]?["id"]?.intValue == mediaId && body["data"]?["status"] == "ready", "\(body)")

        // Asked for again: a fourth attempt, the same message, signed again.
        let deliveryId = try #require(delivery["id"]?.intValue)
        #expect(try await stack.request("POST", "/api/webhooks/\(hookId)/deliveries/\(deliveryId)/redeliver/", user: owner).status == 202)
        #expect(await eventually(timeout: .seconds(30)) { received("flaky").count == 4 })
        #expect(received("flaky").last?["valid"] == true && received("flaky").last?["webhook_id"] == requests.first?["webhook_id"])
        #expect(await eventually(timeout: .seconds(10)) { (try? await deliveries(hookId).first.map(attempts)?.count) == 4 })

        // 2. A receiver that is down: two attempts fail; the sender is killed; the receiver comes up; the sender
        //    starts again and delivers.
        _ = try await stack.request("DELETE", "/api/webhooks/\(hookId)/", user: owner)
        let downPort = freePort()
        let later = try await register("http://127.0.0.1:\(downPort)/hooks/later")
        let laterId = try #require(later["id"]?.intValue)
        try (later["secret"]?.stringValue ?? "").write(toFile: "\(directory)/later.secret", atomically: true, encoding: .utf8)
        _ = try await stack.upload(try await Fixtures.jpeg(width: 300, height: 200), filename: "later.jpg", user: owner)
        #expect(await eventually(timeout: .seconds(60), interval: .milliseconds(100)) {
            ((try? await deliveries(laterId).first.map(attempts)) ?? []).count >= 2
        })
        let gateway = try #require(stack.processes(named: "mediaflow-gateway").first)
        kill(gateway.processIdentifier, SIGKILL)
        gateway.waitUntilExit()
        let failedBefore = try await stack.sql(
            "SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = \(laterId)")
        #expect(try await stack.sql("SELECT status FROM webhook_deliveries WHERE webhook_id = \(laterId)") == "pending")
        try receiver(port: downPort, name: "later", failFirst: 0)
        try stack.launch("mediaflow-gateway", extra: [:])
        #expect(await eventually(timeout: .seconds(60), interval: .milliseconds(200)) { received("later").count >= 1 },
                "delivered after the restart")
        let late = received("later")
        #expect(late.count == 1 && late.first?["valid"] == true, "\(late)")
        let final = try #require(try await deliveries(laterId).first)
        #expect(final["status"] == "succeeded")
        let tries = attempts(final)
        #expect(tries.count == (Int(failedBefore) ?? 0) + 1 && tries.last?["response_code"]?.intValue == 200, "\(final)")
        #expect(tries.dropLast().allSatisfy { $0["response_code"] == .null && $0["status"] == "failed" }, "refused while down: \(tries)")
    }

    @Test func privateReceiversAreRefusedUnlessAllowed() async throws {
        let stack = try await Stack.start(processors: [])
        defer { stack.stop() }
        let reply = try await stack.request("POST", "/api/webhooks/", user: 77,
            body: Data(#"{"url": "http://127.0.0.1:9/h", "events": ["media.ready"]}"#.utf8), headers: ["Content-Type": "application/json"])
        #expect(reply.status == 400 && reply.json["code"] == "invalid_url", "\(reply.json)")
        #expect(reply.json["detail"]?.stringValue?.contains("127.0.0.1") == true)
    }
}
