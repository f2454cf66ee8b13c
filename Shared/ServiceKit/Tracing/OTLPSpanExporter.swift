import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing

/// Sends finished spans to the collector in batches, as OTLP/HTTP JSON (`POST <endpoint>` with an
/// `ExportTraceServiceRequest`), every `scheduleDelay`; holds at most `maxQueueSize` (the rest are dropped and the drop
/// is logged); on graceful shutdown sends what is left, so a drained service's last jobs are not lost.
public final class OTLPSpanExporter: Service {
    let settings: OTLPSettings
    let logger: Logger
    private struct Queue {
        var spans: [FinishedSpan] = []
        var dropped = 0
    }
    private let queue = Mutex(Queue())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    public init(settings: OTLPSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func add(_ span: FinishedSpan) {
        let full = queue.withLock { queue in
            guard queue.spans.count < settings.maxQueueSize else {
                queue.dropped += 1
                return false
            }
            queue.spans.append(span)
            return queue.spans.count >= settings.maxBatchSize
        }
        if full { wake.yield() }
    }

    /// The spans waiting to be sent (tests).
    func pending() -> [FinishedSpan] { queue.withLock { $0.spans } }

    /// Sends what is held without waiting for the schedule.
    func flushSoon() { wake.yield() }

    public func run() async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        await cancelWhenGracefulShutdown { [self] in
            await withTaskGroup(of: Void.self) { group in
                // The schedule wakes the sender as a full batch does.
                group.addTask { [self] in
                    while (try? await Task.sleep(for: settings.scheduleDelay)) != nil { wake.yield() }
                }
                for await _ in wakes {
                    await sendAll(client)
                    if Task.isCancelled { break }
                }
                group.cancelAll()
            }
        }
        await sendAll(client)   // what the last jobs left
        try? await client.shutdown()
    }

    private func sendAll(_ client: HTTPClient) async {
        while true {
            let (batch, dropped) = queue.withLock { queue in
                let batch = Array(queue.spans.prefix(settings.maxBatchSize))
                queue.spans.removeFirst(batch.count)
                defer { queue.dropped = 0 }
                return (batch, queue.dropped)
            }
            if dropped > 0 {
                logger.warning("spans dropped: the export queue was full", metadata: [
                    "dropped": "\(dropped)", "max_queue_size": "\(settings.maxQueueSize)",
                ])
            }
            guard !batch.isEmpty else { return }
            await send(batch, client)
        }
    }

    private func send(_ batch: [FinishedSpan], _ client: HTTPClient) async {
        do {
            var request = HTTPClientRequest(url: settings.endpoint.absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            for (name, value) in settings.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: try OTLPJSON.request(batch, settings: settings)))
            let timeout = settings.timeout.components
            let response = try await client.execute(
                request, timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
            let body = try await response.body.collect(upTo: 64 << 10)
            guard (200..<300).contains(response.status.code) else {
                logger.warning("the collector refused spans", metadata: [
                    "status": "\(response.status.code)", "spans": "\(batch.count)", "answer": "\(String(buffer: body).prefix(300))",
                ])
                return
            }
        } catch {
            logger.warning("spans not exported", metadata: [
                "endpoint": "\(settings.endpoint)", "spans": "\(batch.count)", "error": "\(error)",
            ])
        }
    }
}

/// The OTLP/JSON encoding of spans (opentelemetry-proto's JSON mapping: ids in hex, 64-bit numbers as strings,
/// enums as numbers).
enum OTLPJSON {
    static func request(_ spans: [FinishedSpan], settings: OTLPSettings) throws -> [UInt8] {
        var resource: [[String: Any]] = [attribute("service.name", .string(settings.serviceName))]
        for (key, value) in settings.resourceAttributes where key != "service.name" {
            resource.append(attribute(key, .string(value)))
        }
        let document: [String: Any] = ["resourceSpans": [[
            "resource": ["attributes": resource],
            "scopeSpans": [["scope": ["name": "mediaflow"], "spans": spans.map(span)]],
        ]]]
        return Array(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))
    }

    static func span(_ span: FinishedSpan) -> [String: Any] {
        var object: [String: Any] = [
            "traceId": span.identity.traceId, "spanId": span.identity.spanId, "name": span.name,
            "kind": kind(span.kind), "startTimeUnixNano": String(span.startNanos), "endTimeUnixNano": String(span.endNanos),
            "attributes": attributes(span.attributes),
        ]
        if let parent = span.parentSpanId { object["parentSpanId"] = parent }
        if let status = span.status {
            var encoded: [String: Any] = ["code": status.code == .ok ? 1 : 2]
            if let message = status.message { encoded["message"] = message }
            object["status"] = encoded
        }
        if !span.events.isEmpty {
            object["events"] = span.events.map { event -> [String: Any] in
                ["name": event.name, "timeUnixNano": String(event.nanosecondsSinceEpoch), "attributes": attributes(event.attributes)]
            }
        }
        if !span.links.isEmpty {
            object["links"] = span.links.map { ["traceId": $0.traceId, "spanId": $0.spanId] }
        }
        return object
    }

    /// SPAN_KIND_INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
    static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        default: 1
        }
    }

    static func attributes(_ attributes: SpanAttributes) -> [[String: Any]] {
        var encoded: [[String: Any]] = []
        attributes.forEach { key, value in encoded.append(attribute(key, value)) }
        return encoded.sorted { ($0["key"] as? String ?? "") < ($1["key"] as? String ?? "") }
    }

    static func attribute(_ key: String, _ value: SpanAttribute) -> [String: Any] {
        ["key": key, "value": anyValue(value)]
    }

    static func anyValue(_ value: SpanAttribute) -> [String: Any] {
        switch value {
        case .int32(let n): ["intValue": String(n)]
        case .int64(let n): ["intValue": String(n)]
        case .double(let d): ["doubleValue": d]
        case .bool(let b): ["boolValue": b]
        case .string(let s): ["stringValue": s]
        case .int32Array(let a): ["arrayValue": ["values": a.map { ["intValue": String($0)] }]]
        case .int64Array(let a): ["arrayValue": ["values": a.map { ["intValue": String($0)] }]]
        case .doubleArray(let a): ["arrayValue": ["values": a.map { ["doubleValue": $0] }]]
        case .boolArray(let a): ["arrayValue": ["values": a.map { ["boolValue": $0] }]]
        case .stringArray(let a): ["arrayValue": ["values": a.map { ["stringValue": $0] }]]
        case .stringConvertible(let c): ["stringValue": c.description]
        case .stringConvertibleArray(let a): ["arrayValue": ["values": a.map { ["stringValue": $0.description] }]]
        default: ["stringValue": "\(value)"]
        }
    }
}
