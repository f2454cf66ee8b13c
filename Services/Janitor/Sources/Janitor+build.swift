import Foundation
import Logging
import Messaging
import Operations
import Persistence
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The Janitor process: PostgreSQL pool (migrated at start), the scheduler (acting or standing by), an outbox relay
/// (so the jobs it republishes go out even with no Gateway up) and the ops server, shut down in reverse order on
/// SIGTERM/SIGINT.
public func buildJanitor(
    configuration: JanitorConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    var database = configuration.common.database
    database.maxConnections = 4
    let postgres = try database.makeClient(logger: logger)
    let repository = PostgresMediaRepository(client: postgres, logger: logger)
    let broker = try RabbitMQBroker(url: configuration.common.amqpURL, queueType: configuration.common.queueType, logger: logger)
    let storage = try configuration.common.storage.makeStorage()
    let instance = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    let tasks = JanitorTasks(
        store: repository, storage: storage, uploads: PostgresResumableUploadStore(client: postgres, logger: logger),
        quotas: PostgresQuotaStore(client: postgres, logger: logger),
        variants: PostgresVariantStore(client: postgres, logger: logger),
        queues: BrokerWorkQueueProbe(broker: broker, logger: logger), settings: configuration.tasks, instance: instance,
        logger: logger)
    let scheduler = JanitorScheduler(
        client: postgres, tasks: tasks, store: repository, broker: broker, settings: configuration.tasks,
        standbyPoll: configuration.standbyPoll, logger: logger)
    let relay = OutboxRelay(store: repository, broker: broker, logger: logger)
    let gate = StartupGate()
    let ops = makeOpsServer(
        host: configuration.opsHost, port: configuration.opsPort,
        checks: [
            ReadinessCheck(name: "database") { try await repository.ping() },
            ReadinessCheck(name: "broker") { try await broker.declare(BrokerTopology()) },
            ReadinessCheck(name: "storage") { try await storage.checkReachable() },
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
            .init(service: GatedService(gate: gate, name: "outbox-relay", service: relay)),
            .init(service: GatedService(gate: gate, name: "janitor-scheduler", service: scheduler)),
            // Every Janitor records what lands in the dead queues (acting or standing by: recording twice makes one record).
            .init(service: GatedService(gate: gate, name: "dead-letter-recorder", service: DeadLetterRecorder(
                broker: broker, store: PostgresDeadLetterStore(client: postgres, logger: logger), logger: logger))),
            .init(service: ops),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
}
