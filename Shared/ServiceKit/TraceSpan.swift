import MediaDomain
import Tracing

/// Where an upload's trace (a `TraceParent`, carried by the outbox row and every AMQP message) meets
/// swift-distributed-tracing. Each hop runs its work in a span continuing the trace it was handed, and sends on the
/// `traceparent` of that span, so an OTLP backend draws the upload's path (request, job, fold) as one tree. With no
/// exporter bootstrapped the span costs nothing and the hop sends on a new child id of the same trace, so logs still
/// carry one `trace_id` from end to end.
public enum TraceSpan {
    /// Runs `body` in a span named `name` that continues `parent` (a new trace when nil). `body` gets the
    /// `traceparent` to send on and the span, for attributes; an error thrown by `body` is recorded on the span.
    public static func run<T>(
        _ name: String, kind: SpanKind, continuing parent: TraceParent?,
        _ body: (TraceParent, any Span) async throws -> T
    ) async rethrows -> T {
        var context = ServiceContext.topLevel
        if let parent {
            InstrumentationSystem.instrument.extract(
                [TraceParent.headerName: parent.header], into: &context, using: HeaderExtractor())
        }
        return try await withSpan(name, context: context, ofKind: kind) { span in
            var carrier: [String: String] = [:]
            InstrumentationSystem.instrument.inject(span.context, into: &carrier, using: HeaderInjector())
            let hop = carrier[TraceParent.headerName].flatMap(TraceParent.init(header:)) ?? parent?.child() ?? .random()
            return try await body(hop, span)
        }
    }

    private struct HeaderExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }

    private struct HeaderInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }
}
