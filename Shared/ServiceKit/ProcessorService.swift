import Logging
import Messaging
import Persistence
import Prometheus
import Scanning
import ServiceCore
import ServiceLifecycle

/// Where a processor's ops endpoints listen and how it runs its jobs.
public struct ProcessorSettings: Sendable {
    public var name: String
    public var opsHost: String
    public var opsPort: Int
    public var worker: ProcessingWorker.Options
    public var databaseConnections: Int
    /// `MEDIA_CLAMD` and its companions (SPEC §13).
    public var scanning: MalwareScanning

    public init(name: String, opsHost: String, opsPort: Int, worker: ProcessingWorker.Options, databaseConnections: Int = 4,
                scanning: MalwareScanning = MalwareScanning()) {
        self.scanning = scanning
        self.name = name
        self.opsHost = opsHost
        self.opsPort = opsPort
        self.worker = worker
        self.databaseConnections = databaseConnections
    }
}

/// A processor process, the same for image, video and audio: PostgreSQL pool (inbox; migrated at start),
/// broker, the processing worker (held until the migrations ran) and the ops server, shut down in reverse
/// order on SIGTERM/SIGINT. Each service only brings its `MediaProcessor`.
public func buildProcessorService(
    processor: some MediaProcessor, settings: ProcessorSettings, common: CommonConfiguration,
    registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    var database = common.database
    database.maxConnections = settings.databaseConnections
    let postgres = try database.makeClient(logger: logger)
    let repository = PostgresMediaRepository(client: postgres, logger: logger)
    let broker = try RabbitMQBroker(url: common.amqpURL, queueType: common.queueType, logger: logger)
    let storage = try common.storage.makeStorage()
    let scanner = settings.scanning.makeScanner()
    let worker = ProcessingWorker(
        processor: processor, broker: broker, storage: storage, inbox: repository,
        jobs: PostgresJobLedger(client: postgres, logger: logger), options: settings.worker, scanner: scanner,
        allowUnscannedLarger: settings.scanning.allowUnscannedLarger, logger: logger)
    if let address = settings.scanning.clamd { logger.info("originals are scanned for malware", metadata: ["clamd": "\(address)"]) }
    let gate = StartupGate()
    var checks = [
        ReadinessCheck(name: "database") { try await repository.ping() },
        // An empty declaration is a round trip on the publisher connection: fails fast while the broker is down.
        ReadinessCheck(name: "broker") { try await broker.declare(BrokerTopology()) },
        ReadinessCheck(name: "storage") { try await storage.checkReachable() },
    ]
    // Jobs wait while clamd is unreachable: /readyz says so (`"dependency":"clamd"`).
    if let scanner { checks.append(ReadinessCheck(name: "clamd") { try await scanner.ping() }) }
    let ops = makeOpsServer(
        host: settings.opsHost, port: settings.opsPort,
        checks: checks,
        registry: registry, logger: logger)
    return ServiceGroup(configuration: .init(
        services: [
            .init(service: postgres),
            .init(service: ClosureService(body: {
                try await Migrations.run(on: postgres, logger: logger)
                gate.open()
                try await gracefulShutdown()
            })),
            .init(service: GatedService(gate: gate, name: "\(settings.name)-worker", service: worker)),
            .init(service: ops),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
}
