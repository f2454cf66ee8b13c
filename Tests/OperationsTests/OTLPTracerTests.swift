import Foundation
import Logging
import ServiceCore
@testable import ServiceKit
import Testing
import Tracing

/// ServiceKit's own OTLP tracer (it replaced swift-otel): the OTEL_* settings, W3C propagation, sampling and the
/// OTLP/JSON a collector receives. The whole path over HTTP is TracingEndToEndTests'.
@Suite("OTLP tracer: settings, propagation, sampling, JSON")
struct OTLPTracerTests {
    func settings(_ env: [String: String]) throws -> OTLPSettings? {
        try OTLPSettings(environment: Environment(env), service: "gateway")
    }

    @Test func theOpenTelemetryVariablesAreReadAsTheSDKReadsThem() throws {
        #expect(try settings([:]) == nil, "no endpoint, no export")
        let base = try #require(try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"]))
        #expect(base.endpoint.absoluteString == "http://collector:4318/v1/traces")
        #expect(base.serviceName == "mediaflow-gateway" && base.scheduleDelay == .milliseconds(5000))
        #expect(base.sampler == .parentBased(root: .alwaysOn))
        let traces = try #require(try settings([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b:2/custom",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%3Dcret, team = media", "OTEL_SERVICE_NAME": "edge",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ]))
        #expect(traces.endpoint.absoluteString == "https://b:2/custom", "the traces endpoint is taken as given")
        #expect(traces.headers.map { "\($0.0)=\($0.1)" } == ["api-key=s=cret", "team=media"])
        #expect(traces.serviceName == "edge" && traces.scheduleDelay == .milliseconds(100))
        #expect(traces.sampler == .parentBased(root: .traceIdRatio(0.25)))
        for bad in [["OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"], ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"],
                    ["OTEL_TRACES_SAMPLER": "sometimes"], ["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"],
                    ["OTEL_BSP_SCHEDULE_DELAY": "0"], ["OTEL_EXPORTER_OTLP_HEADERS": "novalue"]]
        {
            #expect(throws: ConfigurationError.self, "\(bad)") {
                try settings(bad.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"]) { $1 })
            }
        }
        #expect(throws: ConfigurationError.self) { try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://c"]) }
    }

    @Test func aSpanContinuesTheCallersTraceAndSendsOnItsOwnId() throws {
        let exporter = OTLPSpanExporter(settings: try #require(try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"])),
                                        logger: Logger(label: "test"))
        let tracer = OTLPTracer(sampler: .parentBased(root: .alwaysOn), exporter: exporter)
        let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": caller], into: &context, using: DictionaryExtractor())
        let span = tracer.startSpan("POST /api/media/upload/", context: context, ofKind: .server, at: DefaultTracerClock.now,
                                    function: #function, file: #fileID, line: #line)
        span.attributes["mediaflow.media_id"] = 42
        span.recordError(TestFailure())
        span.setStatus(SpanStatus(code: .error, message: "boom"))
        var sent: [String: String] = [:]
        tracer.inject(span.context, into: &sent, using: DictionaryInjector())
        let hop = try #require(sent["traceparent"])
        #expect(hop.hasPrefix("00-0af7651916cd43dd8448eb211c80319c-") && hop.hasSuffix("-01"))
        #expect(!hop.contains("b7ad6b7169203331"), "the hop sends its own span id on")
        #expect(exporter.pending().isEmpty, "nothing is sent before the span ends")
        span.end()
        span.end()   // once
        let finished = try #require(exporter.pending().first)
        #expect(exporter.pending().count == 1)
        #expect(finished.parentSpanId == "b7ad6b7169203331" && finished.identity.traceId == "0af7651916cd43dd8448eb211c80319c")

        // The JSON a collector gets: hex ids, kinds and times as OTLP/JSON spells them.
        let json = try OTLPJSON.request([finished], settings: try #require(try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"])))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        let resourceSpans = try #require(document["resourceSpans"] as? [[String: Any]])
        let resource = try #require((resourceSpans.first?["resource"] as? [String: Any])?["attributes"] as? [[String: Any]])
        #expect((resource.first?["value"] as? [String: Any])?["stringValue"] as? String == "mediaflow-gateway")
        let spans = try #require((resourceSpans.first?["scopeSpans"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]])
        let exported = try #require(spans.first)
        #expect(exported["traceId"] as? String == "0af7651916cd43dd8448eb211c80319c")
        #expect(exported["parentSpanId"] as? String == "b7ad6b7169203331")
        #expect((exported["spanId"] as? String)?.count == 16 && exported["kind"] as? Int == 2)
        #expect(UInt64(exported["endTimeUnixNano"] as? String ?? "") ?? 0 >= UInt64(exported["startTimeUnixNano"] as? String ?? "x") ?? .max)
        let attributes = try #require(exported["attributes"] as? [[String: Any]])
        #expect(attributes.first?["key"] as? String == "mediaflow.media_id")
        #expect((attributes.first?["value"] as? [String: Any])?["intValue"] as? String == "42")
        #expect((exported["status"] as? [String: Any])?["code"] as? Int == 2)
        #expect((exported["events"] as? [[String: Any]])?.first?["name"] as? String == "exception")
    }

    @Test func samplingFollowsTheCallerAndTheRatio() throws {
        let exporter = OTLPSpanExporter(settings: try #require(try settings(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"])),
                                        logger: Logger(label: "test"))
        let tracer = OTLPTracer(sampler: .parentBased(root: .alwaysOn), exporter: exporter)
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"], into: &context,
                       using: DictionaryExtractor())
        let unsampled = tracer.startSpan("job", context: context, ofKind: .consumer, at: DefaultTracerClock.now,
                                         function: #function, file: #fileID, line: #line)
        #expect(!unsampled.isRecording)
        unsampled.end()
        #expect(exporter.pending().isEmpty, "a caller's unsampled trace stays unsampled")
        var sent: [String: String] = [:]
        tracer.inject(unsampled.context, into: &sent, using: DictionaryInjector())
        #expect(sent["traceparent"]?.hasSuffix("-00") == true, "and says so downstream")

        let ids = (0..<2000).map { _ in SpanIdentity.newTraceId() }
        let quarter = ids.filter { OTLPTracer.samples(.traceIdRatio(0.25), traceId: $0, parent: nil) }.count
        #expect((350...650).contains(quarter), "about a quarter of 2,000 traces: \(quarter)")
        #expect(ids.allSatisfy { !OTLPTracer.samples(.alwaysOff, traceId: $0, parent: nil) })
        #expect(SpanIdentity(traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01") == nil)
        #expect(SpanIdentity(traceparent: "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") == nil)
    }
}

private struct TestFailure: Error {}

private struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

private struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
