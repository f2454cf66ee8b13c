import Foundation
import ServiceCore

/// The OpenTelemetry environment variables the span exporter honours, read once (the OTel SDK names and defaults).
///
/// Spans go out as OTLP/HTTP with JSON bodies, which every OpenTelemetry collector takes on its HTTP port (4318). The
/// protobuf encoding is not offered: it would bring a protobuf runtime into every service's build for the same spans.
public struct OTLPSettings: Sendable, Equatable {
    /// Where spans are posted: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, or `OTEL_EXPORTER_OTLP_ENDPOINT` +
    /// `/v1/traces`.
    public var endpoint: URL
    /// `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS`: `key=value` pairs, comma-separated,
    /// percent-decoded (an API key for a hosted backend).
    public var headers: [(String, String)]
    /// `OTEL_SERVICE_NAME`, else `mediaflow-<service>`.
    public var serviceName: String
    /// `OTEL_RESOURCE_ATTRIBUTES`: more resource attributes, `key=value` pairs.
    public var resourceAttributes: [(String, String)]
    /// `OTEL_BSP_SCHEDULE_DELAY` (ms): how long finished spans wait to be sent together.
    public var scheduleDelay: Duration
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: spans held at most; more are dropped (and counted in the log).
    public var maxQueueSize: Int
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans in one request at most.
    public var maxBatchSize: Int
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` / `_TRACES_TIMEOUT` (ms): one request's time limit.
    public var timeout: Duration
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    public var sampler: Sampler

    public enum Sampler: Sendable, Equatable {
        case alwaysOn, alwaysOff
        case traceIdRatio(Double)
        /// Follow the caller's sampled flag; a new trace is decided by `root`.
        indirect case parentBased(root: Sampler)
    }

    public static func == (lhs: OTLPSettings, rhs: OTLPSettings) -> Bool {
        lhs.endpoint == rhs.endpoint && lhs.headers.elementsEqual(rhs.headers, by: ==) && lhs.serviceName == rhs.serviceName
            && lhs.resourceAttributes.elementsEqual(rhs.resourceAttributes, by: ==) && lhs.scheduleDelay == rhs.scheduleDelay
            && lhs.maxQueueSize == rhs.maxQueueSize && lhs.maxBatchSize == rhs.maxBatchSize && lhs.timeout == rhs.timeout
            && lhs.sampler == rhs.sampler
    }

    /// nil when no endpoint is configured (no spans are exported).
    public init?(environment env: Environment, service: String) throws {
        let endpoint: String
        if let traces = env.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), !traces.isEmpty {
            endpoint = traces
        } else if let base = env.string("OTEL_EXPORTER_OTLP_ENDPOINT"), !base.isEmpty {
            endpoint = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        } else {
            return nil
        }
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host != nil
        else { throw ConfigurationError("the OTLP endpoint must be an http(s) URL, not \(endpoint)") }
        self.endpoint = url
        let protocolName = env.string("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? env.string("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/json"
        guard protocolName == "http/json" else {
            throw ConfigurationError(
                "OTEL_EXPORTER_OTLP_PROTOCOL \(protocolName) is not offered: spans are exported as http/json (any collector's HTTP port takes it)")
        }
        headers = try Self.pairs(env.string("OTEL_EXPORTER_OTLP_TRACES_HEADERS") ?? env.string("OTEL_EXPORTER_OTLP_HEADERS"),
                                 name: "OTEL_EXPORTER_OTLP_HEADERS")
        serviceName = env.string("OTEL_SERVICE_NAME").flatMap { $0.isEmpty ? nil : $0 } ?? "mediaflow-\(service)"
        resourceAttributes = try Self.pairs(env.string("OTEL_RESOURCE_ATTRIBUTES"), name: "OTEL_RESOURCE_ATTRIBUTES")
        scheduleDelay = .milliseconds(try Self.positive(env, "OTEL_BSP_SCHEDULE_DELAY", 5000))
        maxQueueSize = try Self.positive(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        maxBatchSize = min(maxQueueSize, try Self.positive(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512))
        let timeoutMs = try Self.positive(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", try Self.positive(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 10_000))
        timeout = .milliseconds(timeoutMs)
        sampler = try Self.sampler(env.string("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on", argument: env.string("OTEL_TRACES_SAMPLER_ARG"))
    }

    static func sampler(_ name: String, argument: String?) throws -> Sampler {
        func ratio() throws -> Double {
            guard let argument else { return 1 }
            guard let value = Double(argument), (0...1).contains(value) else {
                throw ConfigurationError("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, not \(argument)")
            }
            return value
        }
        switch name {
        case "always_on": return .alwaysOn
        case "always_off": return .alwaysOff
        case "traceidratio": return .traceIdRatio(try ratio())
        case "parentbased_always_on": return .parentBased(root: .alwaysOn)
        case "parentbased_always_off": return .parentBased(root: .alwaysOff)
        case "parentbased_traceidratio": return .parentBased(root: .traceIdRatio(try ratio()))
        default:
            throw ConfigurationError("OTEL_TRACES_SAMPLER must be always_on, always_off, traceidratio or parentbased_… of those, not \(name)")
        }
    }

    private static func positive(_ env: Environment, _ key: String, _ fallback: Int) throws -> Int {
        let value = try env.int(key, default: fallback)
        guard value > 0 else { throw ConfigurationError("\(key) must be above 0") }
        return value
    }

    /// `k1=v1,k2=v2`, each side percent-decoded and trimmed.
    static func pairs(_ text: String?, name: String) throws -> [(String, String)] {
        guard let text, !text.isEmpty else { return [] }
        return try text.split(separator: ",").map { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ConfigurationError("\(name) must read key=value,key=value, not \(text)") }
            let decode = { (s: Substring) in (String(s).removingPercentEncoding ?? String(s)).trimmingCharacters(in: .whitespaces) }
            return (decode(parts[0]), decode(parts[1]))
        }
    }
}
