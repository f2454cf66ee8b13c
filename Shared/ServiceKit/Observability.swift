import Logging
import Metrics
import Prometheus

/// Process-wide logging and metrics, set up once by each executable's `main` (never by tests, which may
/// build many applications in one process).
public enum Observability {
    /// Bootstraps swift-log (stderr, one line per event) and swift-metrics (Prometheus) and returns the
    /// registry that `/metrics` renders.
    public static func bootstrap(service: String, logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
