import Foundation
import Synchronization
import Tracing

/// The identity of a span as the trace context carries it: which trace, which span, whether it is sampled.
struct SpanIdentity: Sendable, Equatable {
    /// 32 lowercase hex digits.
    var traceId: String
    /// 16 lowercase hex digits.
    var spanId: String
    var sampled: Bool

    var traceparent: String { "00-\(traceId)-\(spanId)-\(sampled ? "01" : "00")" }

    init(traceId: String, spanId: String, sampled: Bool) {
        self.traceId = traceId
        self.spanId = spanId
        self.sampled = sampled
    }

    /// A `traceparent` header, as the caller's span (W3C Trace Context, version 00).
    init?(traceparent header: String) {
        let parts = header.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.dropFirst().allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }),
              let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        self.init(traceId: String(parts[1]), spanId: String(parts[2]), sampled: flags & 1 == 1)
    }

    static func newTraceId() -> String { hex(UInt64.random(in: 1...UInt64.max)) + hex(UInt64.random(in: 0...UInt64.max)) }
    static func newSpanId() -> String { hex(UInt64.random(in: 1...UInt64.max)) }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

enum SpanIdentityKey: InstrumentationContextKey {
    typealias Value = SpanIdentity
}

/// swift-distributed-tracing's `Tracer`, exporting over OTLP/HTTP JSON (`OTLPSpanExporter`), with W3C `traceparent`
/// propagation. Mediaflow's own, in place of swift-otel: the services make three kinds of span (a request, a job, a
/// fold), and swift-otel with its protobuf runtime was 175 of the 2,438 steps of every fresh clone's test build.
public final class OTLPTracer: Tracer {
    public typealias Span = OTLPSpan

    let sampler: OTLPSettings.Sampler
    let exporter: OTLPSpanExporter

    public init(sampler: OTLPSettings.Sampler, exporter: OTLPSpanExporter) {
        self.sampler = sampler
        self.exporter = exporter
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> OTLPSpan {
        var context = context()
        let parent = context[SpanIdentityKey.self]
        let traceId = parent?.traceId ?? SpanIdentity.newTraceId()
        let identity = SpanIdentity(traceId: traceId, spanId: SpanIdentity.newSpanId(),
                                    sampled: Self.samples(sampler, traceId: traceId, parent: parent))
        context[SpanIdentityKey.self] = identity
        return OTLPSpan(name: operationName, context: context, identity: identity, parentSpanId: parent?.spanId, kind: kind,
                        startNanos: instant().nanosecondsSinceEpoch, exporter: identity.sampled ? exporter : nil)
    }

    /// Whether a span of `traceId` under `parent` is recorded and sent.
    static func samples(_ sampler: OTLPSettings.Sampler, traceId: String, parent: SpanIdentity?) -> Bool {
        switch sampler {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .traceIdRatio(let ratio):
            // The trace id's last 16 hex digits as a number: every service decides a trace alike.
            let low = UInt64(traceId.suffix(16), radix: 16) ?? 0
            return ratio >= 1 || Double(low) < ratio * Double(UInt64.max)
        case .parentBased(let root):
            if let parent { return parent.sampled }
            return samples(root, traceId: traceId, parent: nil)
        }
    }

    public func forceFlush() {
        exporter.flushSoon()
    }

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        if let header = extractor.extract(key: "traceparent", from: carrier), let identity = SpanIdentity(traceparent: header) {
            context[SpanIdentityKey.self] = identity
        }
    }

    public func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        if let identity = context[SpanIdentityKey.self] {
            injector.inject(identity.traceparent, forKey: "traceparent", into: &carrier)
        }
    }
}

/// One span: its name, attributes, status and events change until it ends, then it goes to the exporter (when sampled).
public final class OTLPSpan: Tracing.Span {
    public let context: InstrumentationContext
    let identity: SpanIdentity
    let parentSpanId: String?
    let kind: SpanKind
    let startNanos: UInt64
    /// nil when the span is not sampled: it records nothing.
    private let exporter: OTLPSpanExporter?

    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var links: [SpanIdentity] = []
        var ended = false
    }

    private let state: Mutex<State>

    init(name: String, context: InstrumentationContext, identity: SpanIdentity, parentSpanId: String?, kind: SpanKind,
         startNanos: UInt64, exporter: OTLPSpanExporter?) {
        self.context = context
        self.identity = identity
        self.parentSpanId = parentSpanId
        self.kind = kind
        self.startNanos = startNanos
        self.exporter = exporter
        state = Mutex(State(name: name))
    }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    public var isRecording: Bool { exporter != nil && !state.withLock { $0.ended } }

    public func setStatus(_ status: SpanStatus) {
        state.withLock { $0.status = status }
    }

    public func addEvent(_ event: SpanEvent) {
        guard exporter != nil else { return }
        state.withLock { $0.events.append(event) }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        guard exporter != nil else { return }
        var described = attributes
        described["exception.type"] = String(describing: type(of: error))
        described["exception.message"] = String(describing: error)
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: described))
    }

    public func addLink(_ link: SpanLink) {
        guard exporter != nil, let other = link.context[SpanIdentityKey.self] else { return }
        state.withLock { $0.links.append(other) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let exporter else { return }
        let endNanos = instant().nanosecondsSinceEpoch
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return FinishedSpan(
                name: state.name, identity: identity, parentSpanId: parentSpanId, kind: kind, startNanos: startNanos,
                endNanos: endNanos, attributes: state.attributes, status: state.status, events: state.events, links: state.links)
        }
        if let finished { exporter.add(finished) }
    }
}

/// A span as it is sent.
struct FinishedSpan: Sendable {
    var name: String
    var identity: SpanIdentity
    var parentSpanId: String?
    var kind: SpanKind
    var startNanos: UInt64
    var endNanos: UInt64
    var attributes: SpanAttributes
    var status: SpanStatus?
    var events: [SpanEvent]
    var links: [SpanIdentity]
}
