import Foundation
import MediaDomain
import Testing
import TestSupport

/// One upload's trace across processes (SPEC §3): the W3C `traceparent` a client sends (or the one the Gateway starts)
/// goes through the outbox and the AMQP messages, and its trace id is in the log lines of the Gateway's upload, the
/// worker's job and the Gateway's fold of the outcome.
@Suite("End to end: an upload's trace id in every service's logs",
       .enabled(if: Stack.available, "needs make test's servers and build"))
struct TracingEndToEndTests {
    func lines(_ path: String, containing needles: [String]) -> [Substring] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { line in needles.allSatisfy { line.contains($0) } }
    }

    @Test func theClientsTraceIdIsLoggedByTheGatewayTheWorkerAndTheFold() async throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-trace-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let stack = try await Stack.start(processors: ["mediaflow-image"], logDirectory: logs)
        defer { stack.stop() }
        let photo = try await Fixtures.jpeg(width: 320, height: 240)

        let sent = TraceParent.random()
        let reply = try await stack.upload(photo, filename: "traced.jpg", user: 7601, headers: ["traceparent": sent.header])
        #expect(reply.status == 201)
        let answered = try #require(reply.headers["traceparent"].flatMap(TraceParent.init(header:)))
        #expect(answered.traceId == sent.traceId && answered.parentId != sent.parentId, "the same trace, the Gateway's span")
        let id = try #require(reply.json["id"]?.intValue)
        #expect(try await stack.waitFor(id, user: 7601)["status"] == "ready")

        // A client without a trace gets a new one, carried the same way.
        let untraced = try await stack.upload(photo, filename: "untraced.jpg", user: 7601)
        let started = try #require(untraced.headers["traceparent"].flatMap(TraceParent.init(header:)))
        let second = try #require(untraced.json["id"]?.intValue)
        #expect(try await stack.waitFor(second, user: 7601)["status"] == "ready")

        try await Task.sleep(for: .milliseconds(300))   // the fold's log line follows the row's change
        for (trace, media) in [(sent.traceId, id), (started.traceId, second)] {
            let gateway = "\(logs)/mediaflow-gateway.log", worker = "\(logs)/mediaflow-image.log"
            #expect(!lines(gateway, containing: ["media uploaded", "trace_id=\(trace)", "media_id=\(media)"]).isEmpty,
                    "the Gateway logs the upload with trace \(trace)")
            #expect(!lines(worker, containing: ["media ready", "trace_id=\(trace)", "media_id=\(media) "]).isEmpty,
                    "the worker logs the job with trace \(trace)")
            #expect(!lines(gateway, containing: ["status event folded", "trace_id=\(trace)", "media_id=\(media)"]).isEmpty,
                    "the Gateway logs the fold of the outcome with trace \(trace)")
        }
    }
}
