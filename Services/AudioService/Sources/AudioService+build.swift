import Logging
import Messaging
import Persistence
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The AudioService process: PostgreSQL pool (inbox), broker, the processing worker and the ops server.
public func buildAudioService(
    configuration: AudioServiceConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    guard let database = DatabaseConfiguration(url: configuration.common.databaseURL, maxConnections: 4) else {
        throw ConfigurationError("MEDIA_DATABASE_URL is not a postgres:// URL")
    }
    let postgres = database.makeClient(logger: logger)
    let repository = PostgresMediaRepository(client: postgres, logger: logger)
    let broker = try RabbitMQBroker(url: configuration.common.amqpURL, logger: logger)
    let storage = try configuration.common.storage.makeStorage()
    let pool = BlockingWorkPool(threads: configuration.concurrency, name: "libav-audio")
    let worker = ProcessingWorker(
        processor: AudioProcessor(pool: pool),
        broker: broker, storage: storage, inbox: repository,
        options: .init(concurrency: configuration.concurrency, jobTimeout: .seconds(300)), logger: logger)
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
            .init(service: GatedService(gate: gate, name: "audio-worker", service: worker)),
            .init(service: ops),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
}
