import Foundation
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayImages
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import Hummingbird
import Logging
import MediaDomain
import Messaging
import Operations
import Persistence
import Prometheus
import ServiceKit
import ServiceLifecycle
import Storage
import Tokens

/// What the Gateway's routes stand on. Tests pass in-memory implementations; `buildApplication` the real ones.
public struct GatewayDependencies: Sendable {
    public var repository: any MediaRepository
    public var storage: any BlobStorage
    /// The staff API's view of the store (SPEC §6, §7).
    public var operations: any OperationsStore
    /// Resumable uploads in progress (SPEC §8).
    public var uploads: any ResumableUploadStore
    public var broker: any MessageBroker
    public var readiness: [ReadinessCheck]
    public var registry: PrometheusCollectorRegistry
    /// Called after a request wrote an outbox row (wakes the relay).
    public var onOutboxWrite: @Sendable () -> Void
    /// Live status (SPEC §8): the recorded events, the one-use stream tickets, and this process's open streams (fed
    /// by `MediaEventListener` in `buildApplication`; by the test in unit tests).
    public var events: any MediaEventLog = MemoryMediaEventLog()
    public var tickets: any EventStreamTicketStore = MemoryEventStreamTicketStore()
    var hub = MediaEventHub()
    /// Webhooks and their deliveries (SPEC §8).
    public var webhooks: any WebhookStore = MemoryWebhookStore()
    /// Dead letters as the Janitor recorded them (SPEC §6).
    public var deadLetters: any DeadLetterStore = MemoryDeadLetterStore()
    /// The admin console's sessions (SPEC §7).
    public var adminSessions: any AdminSessionStore = MemoryAdminSessionStore()
    /// Fair use (SPEC §10): quotas, the upload rate budget, open streams across Gateways.
    public var quotas: any QuotaStore = MemoryQuotaStore()
    /// Transform variants in the stored-object ledger (SPEC §12).
    public var variants: any VariantStore = MemoryVariantStore()
    public var uploadRates: any UploadRateStore = MemoryUploadRateStore()
    public var liveStreams: any LiveStreamRegistry = MemoryLiveStreamRegistry()
    /// Perceptual hashes for near-duplicates (SPEC §13); without it `/similar/` lists nothing.
    public var similarity: (any PerceptualHashStore)?
    /// The read cache `repository` reads through, when there is one (`/similar/` reads it too).
    public var readCache: MediaReadCache?
    /// The stream cap over `liveStreams`, when the caller needs it too (the Gateway beats its streams' heartbeat);
    /// else `buildRouter` makes one.
    package var streamAllowance: StreamAllowance?

    public init(
        repository: any MediaRepository & OperationsStore, storage: any BlobStorage,
        broker: any MessageBroker = InMemoryBroker(),
        readiness: [ReadinessCheck] = [], registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        uploads: any ResumableUploadStore = MemoryResumableUploadStore(),
        onOutboxWrite: @escaping @Sendable () -> Void = {}
    ) {
        self.init(repository: repository, operations: repository, storage: storage, broker: broker,
                  readiness: readiness, registry: registry, uploads: uploads, onOutboxWrite: onOutboxWrite)
        similarity = repository as? any PerceptualHashStore
    }

    public init(
        repository: any MediaRepository, operations: any OperationsStore, storage: any BlobStorage,
        broker: any MessageBroker, readiness: [ReadinessCheck],
        registry: PrometheusCollectorRegistry, uploads: any ResumableUploadStore,
        onOutboxWrite: @escaping @Sendable () -> Void
    ) {
        self.repository = repository
        self.uploads = uploads
        self.operations = operations
        self.storage = storage
        self.broker = broker
        self.readiness = readiness
        self.registry = registry
        self.onOutboxWrite = onOutboxWrite
    }
}

/// Every route of SPEC §1 with its middleware: CORS outermost (error responses carry it too), then metrics,
/// then the error renderer.
public func buildRouter(
    configuration: GatewayConfiguration, dependencies: GatewayDependencies
) -> Router<GatewayRequestContext> {
    let router = Router(context: GatewayRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: CORSPolicyMiddleware(origins: configuration.corsOrigins))
    router.add(middleware: TraceContextMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: APIErrorMiddleware())

    let authenticator = JWTAuthenticator(secret: configuration.jwtSecret)
    let signer = URLSigner(secret: configuration.jwtSecret, lifetime: configuration.signedURLLifetime)
    let links = MediaLinks(baseURL: configuration.publicBaseURL, signer: signer)
    let allowance = UploadAllowance(quotas: dependencies.quotas, rates: dependencies.uploadRates, settings: configuration.fairUse)
    let upload = UploadHandler(
        repository: dependencies.repository, storage: dependencies.storage, limits: configuration.common.limits,
        allowance: allowance, onCreated: dependencies.onOutboxWrite)
    let mediaRoutes = router.group("api/media").add(middleware: AuthenticationMiddleware(authenticator: authenticator))
    MediaController(repository: dependencies.repository, storage: dependencies.storage, links: links, upload: upload,
                    similarity: dependencies.similarity, cache: dependencies.readCache)
        .addRoutes(to: mediaRoutes)
    ResumableUploadController(
        uploads: dependencies.uploads, storage: dependencies.storage, handler: upload,
        baseURL: configuration.publicBaseURL, expiry: configuration.uploadExpiry, lease: configuration.uploadLease
    ).addRoutes(
        discovery: router.group("api/uploads"),
        to: router.group("api/uploads").add(middleware: TusVersionMiddleware())
            .add(middleware: AuthenticationMiddleware(authenticator: authenticator)))
    let files = FileController(
        repository: dependencies.repository, storage: dependencies.storage, signer: signer, authenticator: authenticator,
        redirect: configuration.filesRedirect, cdnBaseURL: configuration.cdnBaseURL)
    files.addRoutes(to: router)
    TransformController(
        repository: dependencies.repository, storage: dependencies.storage, files: files,
        signer: TransformSigner(keys: configuration.transformKeys), baseURL: configuration.publicBaseURL,
        privateURLLifetime: Int(configuration.signedURLLifetime.components.seconds),
        concurrency: configuration.transformConcurrency, maxPixels: configuration.common.limits.maxImagePixels,
        variants: dependencies.variants
    ).addRoutes(to: router, media: mediaRoutes)
    // The stream authenticates itself (a bearer token or a one-use ticket); the ticket needs the bearer token.
    let liveStatus = LiveStatusController(
        hub: dependencies.hub, log: dependencies.events, tickets: dependencies.tickets, authenticator: authenticator,
        links: links,
        streams: dependencies.streamAllowance
            ?? StreamAllowance(registry: dependencies.liveStreams, settings: configuration.fairUse))
    liveStatus.addRoutes(
        streams: router.group("api/media/events"),
        tickets: router.group("api/media/events").add(middleware: AuthenticationMiddleware(authenticator: authenticator)))
    WebhookController(
        store: dependencies.webhooks, policy: WebhookAddressPolicy(allowPrivate: configuration.webhooks.allowPrivate),
        links: links
    ).addRoutes(to: router.group("api/webhooks").add(middleware: AuthenticationMiddleware(authenticator: authenticator)))
    let logger = Logger(label: "mediaflow.gateway.staff")
    let staff = router.group("api/admin")
        .add(middleware: AuthenticationMiddleware(authenticator: authenticator))
        .add(middleware: StaffOnlyMiddleware())
    // One instance of each operation behind the staff API and the admin pages alike.
    let deadLetters = DeadLetters(
        store: dependencies.deadLetters, broker: dependencies.broker, media: dependencies.repository,
        operations: dependencies.operations, logger: logger)
    let bulk = MediaBulkActions(
        store: dependencies.operations, storage: dependencies.storage, logger: logger,
        onOutboxWrite: dependencies.onOutboxWrite)
    // Staff never run Janitor tasks here: they ask the acting Janitor (a janitor.run command).
    let janitor = JanitorRequests(store: dependencies.operations, broker: dependencies.broker, logger: logger)
    StaffOperationsController(
        deadLetters: deadLetters, bulk: bulk, janitor: janitor, operations: dependencies.operations, links: links
    ).addRoutes(to: staff)
    AdminSessionsController(store: dependencies.adminSessions).addRoutes(to: staff)
    QuotaController(quotas: dependencies.quotas, defaultLimit: configuration.fairUse.defaultQuotaBytes)
        .addRoutes(user: mediaRoutes, staff: staff)
    AdminConsoleController(
        operations: dependencies.operations, repository: dependencies.repository, storage: dependencies.storage,
        links: links, bulk: bulk, deadLetters: deadLetters, janitor: janitor,
        sessions: AdminSessions(
            authenticator: authenticator, store: dependencies.adminSessions, alwaysSecure: configuration.cookieSecure),
        pages: AdminPages(), liveStatus: liveStatus,
        quotas: dependencies.quotas, defaultQuotaBytes: configuration.fairUse.defaultQuotaBytes
    ).addRoutes(to: router)
    let schema = OpenAPIDocument(baseURL: configuration.publicBaseURL, limits: configuration.common.limits)
    router.get("api/schema") { _, _ in schema.response() }
    router.methodNotAllowed("api/schema", allow: [.get, .head])
    router.addOpsRoutes(checks: dependencies.readiness, registry: dependencies.registry)
    for path in ["/healthz", "/readyz", "/metrics"] { router.methodNotAllowed(RouterPath(path), allow: [.get, .head]) }
    return router
}

/// The Gateway process: PostgreSQL pool, broker, outbox relay, status consumer and HTTP server, run as one
/// `ServiceGroup` (shut down in reverse order on SIGTERM/SIGINT).
public func buildApplication(
    configuration: GatewayConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) async throws -> some ApplicationProtocol {
    var database = configuration.common.database
    // One more than the configured pool: the live-status listener holds a connection for good (LISTEN), which is no
    // capacity for queries. (The read cache's listener holds one too, as it did when the pool size was tuned.)
    database.maxConnections = configuration.databaseConnections + 1
    let postgres = try database.makeClient(logger: logger)
    let repository = PostgresMediaRepository(client: postgres, logger: logger)
    let broker = try RabbitMQBroker(url: configuration.common.amqpURL, queueType: configuration.common.queueType, logger: logger)
    let storage = try configuration.common.storage.makeStorage()
    let relay = OutboxRelay(store: repository, broker: broker, logger: logger)
    let gate = StartupGate()
    // Reads of a media, a user's stats and list pages are cached until their rows change (MediaReadCache); the
    // status consumer's folds drop what they changed at once, like the routes' own writes.
    let cache = MediaReadCache()
    let statusConsumer = StatusConsumer(
        broker: broker, repository: CachingMediaRepository(base: repository, cache: cache), logger: logger)
    let changeListener = MediaChangeListener(client: postgres, cache: cache, logger: logger)
    let events = PostgresMediaEventLog(client: postgres, logger: logger)
    let webhooks = PostgresWebhookStore(client: postgres, logger: logger)

    // Requests answer 503 within seconds while the database is down instead of waiting for it (DeadlineMediaRepository).
    let databaseDeadline = Duration.seconds(3)
    var dependencies = GatewayDependencies(
        repository: CachingMediaRepository(
            base: DeadlineMediaRepository(base: repository, deadline: databaseDeadline), cache: cache),
        operations: repository, storage: storage, broker: broker,
        readiness: [
            ReadinessCheck(name: "database") {
                try await withDatabaseDeadline(databaseDeadline) { try await repository.ping() }
            },
            // An empty declaration is a round trip on the publisher connection: fails fast while the broker is down.
            ReadinessCheck(name: "broker") { try await broker.declare(BrokerTopology()) },
            ReadinessCheck(name: "storage") { try await storage.checkReachable() },
        ],
        registry: registry, uploads: PostgresResumableUploadStore(client: postgres, logger: logger),
        onOutboxWrite: { relay.notify() })
    dependencies.events = events
    dependencies.tickets = PostgresEventStreamTicketStore(client: postgres, logger: logger)
    dependencies.webhooks = webhooks
    dependencies.adminSessions = PostgresAdminSessionStore(client: postgres, logger: logger)
    dependencies.deadLetters = PostgresDeadLetterStore(client: postgres, logger: logger)
    dependencies.quotas = PostgresQuotaStore(client: postgres, logger: logger)
    dependencies.variants = PostgresVariantStore(client: postgres, logger: logger)
    dependencies.uploadRates = PostgresUploadRateStore(client: postgres, logger: logger)
    dependencies.similarity = DeadlinePerceptualHashStore(base: repository, deadline: databaseDeadline)
    dependencies.readCache = cache
    let streamAllowance = StreamAllowance(
        registry: PostgresLiveStreamRegistry(client: postgres, logger: logger), settings: configuration.fairUse)
    dependencies.streamAllowance = streamAllowance
    let eventListener = MediaEventListener(
        client: postgres, log: events, hub: dependencies.hub, keepAliveInterval: configuration.liveStatusKeepAlive,
        logger: logger)
    let webhookSender = WebhookSender(
        store: webhooks, log: events,
        links: MediaLinks(
            baseURL: configuration.publicBaseURL,
            signer: URLSigner(secret: configuration.jwtSecret, lifetime: configuration.signedURLLifetime)),
        policy: WebhookAddressPolicy(allowPrivate: configuration.webhooks.allowPrivate),
        settings: configuration.webhooks, logger: logger)
    var app = Application(
        router: buildRouter(configuration: configuration, dependencies: dependencies),
        server: .guarded(limits: configuration.connections, logger: logger, additionalChannelHandlers: { [ExpectContinueHandler()] }),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "mediaflow-gateway"),
        services: [
            postgres,
            GatedService(gate: gate, name: "outbox-relay", service: relay),
            GatedService(gate: gate, name: "media-change-listener") { await changeListener.run() },
            GatedService(gate: gate, name: "status-consumer", service: statusConsumer),
            GatedService(gate: gate, name: "media-event-listener") { await eventListener.run() },
            GatedService(gate: gate, name: "webhook-sender", service: webhookSender),
            GatedService(gate: gate, name: "live-stream-heartbeat") { await streamAllowance.beat(logger: logger) },
        ],
        logger: logger)
    app.beforeServerStarts {
        try await Migrations.run(on: postgres, logger: logger)
        gate.open()
        if configuration.usesDevelopmentSecret {
            logger.warning("MEDIA_JWT_SECRET is not set: using the development secret. Never do this in production.")
        }
        logger.info("gateway ready", metadata: ["url": "\(configuration.publicBaseURL)"])
    }
    return app
}
