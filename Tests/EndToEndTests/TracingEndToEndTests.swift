import Foundation
import MediaDomain
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

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

        for (trace, media) in [(sent.traceId, id), (started.traceId, second)] {
            let gateway = "\(logs)/mediaflow-gateway.log", worker = "\(logs)/mediaflow-image.log"
            // The fold's log line follows the row's change, and the worker may write its own after it published the
            // outcome (the fold can land first): wait for both lines, not for the status alone.
            _ = await eventually(timeout: .seconds(10), interval: .milliseconds(20)) {
                !lines(gateway, containing: ["status event folded", "trace_id=\(trace)", "media_id=\(media)"]).isEmpty
                    && !lines(worker, containing: ["media ready", "trace_id=\(trace)", "media_id=\(media) "]).isEmpty
            }
            #expect(!lines(gateway, containing: ["media uploaded", "trace_id=\(trace)", "media_id=\(media)"]).isEmpty,
                    "the Gateway logs the upload with trace \(trace)")
            #expect(!lines(worker, containing: ["media ready", "trace_id=\(trace)", "media_id=\(media) "]).isEmpty,
                    "the worker logs the job with trace \(trace)")
            #expect(!lines(gateway, containing: ["status event folded", "trace_id=\(trace)", "media_id=\(media)"]).isEmpty,
                    "the Gateway logs the fold of the outcome with trace \(trace)")
        }
    }

    /// With `OTEL_EXPORTER_OTLP_ENDPOINT` set, every hop exports a span over OTLP/HTTP, and the spans form one tree:
    /// the client's span → the Gateway's request → the worker's job → the Gateway's fold of the outcome.
    @Test func spansAreExportedOverOTLPAsOneTreeFromRequestToFold() async throws {
        let received = FileManager.default.temporaryDirectory.appendingPathComponent("otlp-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: received) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tracing/otlp_receiver.py").path
        let portPipe = ChildProcess.pipe()
        let receiver = try ChildProcess("/usr/bin/env", ["python3", script, received], output: .descriptor(portPipe.write), error: .discard)
        defer { receiver.send(SIGKILL); receiver.waitUntilExit() }
        let portLine = String(decoding: portPipe.read.availableData, as: UTF8.self)
        let port = try #require(Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), "the receiver's port: \(portLine)")

        let stack = try await Stack.start(processors: ["mediaflow-image"], overrides: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ])
        defer { stack.stop() }
        let sent = TraceParent.random()
        let reply = try await stack.upload(try await Fixtures.jpeg(width: 320, height: 240), filename: "exported.jpg",
                                           user: 7602, headers: ["traceparent": sent.header])
        let id = try #require(reply.json["id"]?.intValue)
        #expect(try await stack.waitFor(id, user: 7602)["status"] == "ready")

        // The spans of this trace, by name, as the receiver got them.
        var spans: [String: ExportedSpan] = [:]
        let complete = await eventually(timeout: .seconds(20), interval: .milliseconds(200)) {
            spans = ExportedSpan.read(received, traceId: sent.traceId)
            return spans["POST /api/media/upload/"] != nil && spans["process image-service"] != nil
                && spans["fold media.ready"] != nil
        }
        #expect(complete, "the request's, the job's and the fold's spans were exported: \(spans.keys.sorted())")
        let request = try #require(spans["POST /api/media/upload/"])
        let job = try #require(spans["process image-service"])
        let fold = try #require(spans["fold media.ready"])
        #expect(request.service == "mediaflow-gateway" && job.service == "mediaflow-image" && fold.service == "mediaflow-gateway")
        #expect(request.parent == sent.parentId, "the request continues the client's span")
        #expect(job.parent == request.id, "the job is a child of the upload request")
        #expect(fold.parent == job.id, "the fold is a child of the job")
        #expect(request.kind == 2 && job.kind == 5 && fold.kind == 5, "server, consumer, consumer")
        #expect(job.attributes["mediaflow.media_id"] == "\(id)", "the job's span names its media: \(job.attributes)")
        let answered = try #require(reply.headers["traceparent"].flatMap(TraceParent.init(header:)))
        #expect(answered.parentId == request.id, "the response's traceparent is the exported request span")
    }
}

/// One span of an OTLP/JSON export.
struct ExportedSpan {
    var service: String
    var id: String
    var parent: String
    var kind: Int
    var attributes: [String: String]

    /// Every span of `traceId` in a file of OTLP/JSON export requests, one a line, by span name.
    static func read(_ path: String, traceId: String) -> [String: ExportedSpan] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var spans: [String: ExportedSpan] = [:]
        for line in text.split(separator: "\n") {
            guard let document = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            for resource in document["resourceSpans"] as? [[String: Any]] ?? [] {
                let resourceAttributes = Self.attributes((resource["resource"] as? [String: Any])?["attributes"])
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] where hex(span["traceId"]) == traceId {
                        guard let name = span["name"] as? String else { continue }
                        spans[name] = ExportedSpan(
                            service: resourceAttributes["service.name"] ?? "",
                            id: hex(span["spanId"]), parent: hex(span["parentSpanId"]),
                            kind: span["kind"] as? Int ?? 0, attributes: Self.attributes(span["attributes"]))
                    }
                }
            }
        }
        return spans
    }

    /// An id as lowercase hex. OTLP/JSON specifies hex; swift-otel 1.6 writes the protobuf JSON mapping's base64.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// OTLP's `[{key, value: {stringValue | intValue | ...}}]` as strings.
    static func attributes(_ list: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for item in list as? [[String: Any]] ?? [] {
            guard let key = item["key"] as? String, let value = item["value"] as? [String: Any], let first = value.first else { continue }
            result[key] = "\(first.value)"
        }
        return result
    }
}
