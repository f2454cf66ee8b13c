import Logging
import Metrics
import Prometheus
import ServiceCore
import ServiceLifecycle
import Tracing

/// Process-wide logging, metrics and span export, set up once by each executable's `main` (never by tests, which may
/// build many applications in one process).
public struct Observability: Sendable {
    /// What `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    /// The OTLP span exporter's background work (batching, sending), when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    private let spanExport: ServiceGroup?

    /// Bootstraps swift-log (stderr, one line per event), swift-metrics (Prometheus) and, when the environment names
    /// an OTLP endpoint, swift-distributed-tracing with Mediaflow's OTLP/HTTP JSON exporter (`OTLPTracer`). Only
    /// tracing goes to the collector: logs stay on stderr and metrics on `/metrics`, where operators already read them.
    public static func bootstrap(service: String, configuration: CommonConfiguration) throws -> Observability {
        let logLevel = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        guard let settings = try OTLPSettings(environment: Environment(), service: service) else {
            return Observability(registry: registry, spanExport: nil)
        }
        let logger = Logger(label: "mediaflow.\(service).otlp")
        let exporter = OTLPSpanExporter(settings: settings, logger: logger)
        InstrumentationSystem.bootstrap(OTLPTracer(sampler: settings.sampler, exporter: exporter))
        logger.info("exporting spans over OTLP/HTTP JSON", metadata: [
            "endpoint": "\(settings.endpoint)", "service_name": "\(settings.serviceName)",
        ])
        let group = ServiceGroup(configuration: .init(services: [exporter], logger: logger))
        return Observability(registry: registry, spanExport: group)
    }

    /// Runs a service's whole life. Span export runs beside it and outlives it: once the service has drained, the
    /// spans of its last jobs are flushed before the process ends.
    public func run(_ service: @Sendable () async throws -> Void) async throws {
        guard let spanExport else { return try await service() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await spanExport.run() }
            do {
                try await service()
            } catch {
                await spanExport.triggerGracefulShutdown()
                throw error
            }
            await spanExport.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
