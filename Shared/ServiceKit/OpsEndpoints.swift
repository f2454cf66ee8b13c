import Hummingbird
import Logging
import Prometheus

/// A dependency a service needs to do its work; `/readyz` checks each.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var check: @Sendable () async throws -> Void
    public init(name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = check
    }
}

extension RouterMethods {
    /// `/healthz` (the process answers), `/readyz` (every dependency answers; 503 naming the first that does
    /// not) and `/metrics` (Prometheus text format).
    @discardableResult
    public func addOpsRoutes(checks: [ReadinessCheck], registry: PrometheusCollectorRegistry) -> Self {
        get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        get("/readyz") { _, _ in
            for check in checks {
                do {
                    try await check.check()
                } catch {
                    let body = #"{"status":"unavailable","dependency":"\#(check.name)"}"#
                    return Response(
                        status: .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
                }
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
        }
        get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return self
    }
}

/// The ops HTTP server of a worker service (processors and the Janitor have no API of their own).
public func makeOpsServer(
    host: String, port: Int, checks: [ReadinessCheck], registry: PrometheusCollectorRegistry, logger: Logger
) -> some ApplicationProtocol {
    let router = Router()
    router.addOpsRoutes(checks: checks, registry: registry)
    return Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mediaflow-ops"),
        logger: logger)
}
