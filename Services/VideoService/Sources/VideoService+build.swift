import Logging
import Messaging
import Persistence
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The VideoService process: PostgreSQL pool (inbox), broker, the processing worker and the ops server.
/// Prefetch equals the worker count, so any number of these processes can share `video-service`; a killed
/// one leaves its unacked message to the broker, which redelivers it to another.
public func buildVideoService(
    configuration: VideoServiceConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    guard let database = DatabaseConfiguration(url: configuration.common.databaseURL, maxConnections: 2) else {
        throw ConfigurationError("MEDIA_DATABASE_URL is not a postgres:// URL")
    }
    let postgres = database.makeClient(logger: logger)
    let repository = PostgresMediaRepository(client: postgres, logger: logger)
    let broker = try RabbitMQBroker(url: configuration.common.amqpURL, logger: logger)
    let storage = try configuration.common.storage.makeStorage()
    let pool = BlockingWorkPool(threads: configuration.workers, name: "libav")
    let worker = ProcessingWorker(
        processor: VideoProcessor(pool: pool), broker: broker, storage: storage, inbox: repository,
        options: .init(concurrency: configuration.workers, jobTimeout: configuration.jobTimeout), logger: logger)
    let gate = StartupGate()
    let ops = makeOpsServer(
        host: configuration.opsHost, port: configuration.opsPort,
        checks: [
            ReadinessCheck(name: "database") { try await repository.ping() },
            ReadinessCheck(name: "broker") { try await broker.declare(BrokerTopology()) },
        ],
        registry: registry, logger: logger)
    return ServiceGroup(configuration: .init(
        services: [
            .init(service: postgres),
            .init(service: ClosureService(body: {
                try await Migrations.run(on: postgres, logger: logger)
                gate.open()
                try await gracefulShutdown()
            })),
            .init(service: GatedService(gate: gate, name: "video-worker", service: worker)),
            .init(service: ops),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
}
