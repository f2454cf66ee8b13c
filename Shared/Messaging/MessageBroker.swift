/// The seam between services and the message broker.
///
/// Services never see AMQP: they publish `OutgoingMessage`s (returning only once the broker confirmed
/// them) and consume `Delivery`s that they settle explicitly. `RabbitMQBroker` is the real
/// implementation; `InMemoryBroker` has the same semantics (topic routing, prefetch, redelivery of
/// unsettled messages) for unit tests.
public protocol MessageBroker: Sendable {
    /// Declares exchanges, queues and bindings. Idempotent: declaring the same topology twice is harmless.
    func declare(_ topology: BrokerTopology) async throws

    /// Publishes one message and returns once the broker has confirmed it (publisher confirms).
    /// Throws `MessagingError` when the broker is unreachable or nacks the message; the caller keeps
    /// the message (outbox row, unacked delivery) and tries again later.
    func publish(_ message: OutgoingMessage) async throws

    /// Consumes `queue` with manual acks until the calling task is cancelled or `drain` fires.
    ///
    /// At most `prefetch` deliveries are outstanding (handed to `handler` and not yet settled).
    /// `handler` is called concurrently for outstanding deliveries and must settle each one with
    /// `ack()` or `reject(requeue:)`. When the connection drops, unsettled deliveries are redelivered
    /// by the broker, and the consumer reconnects with backoff and resumes. When `drain` fires, no new message
    /// is taken, the running handlers are left to finish (not cancelled), and then this returns; whatever they
    /// left unsettled goes back to the queue. Cancelling the calling task cancels the handlers too.
    func consume(
        queue: String,
        prefetch: Int,
        drain: DrainSignal?,
        handler: @escaping @Sendable (Delivery) async -> Void
    ) async throws

    /// How many messages wait in `queue`, ready to be delivered (not counting deliveries in flight), and how many
    /// consumers take from it.
    func queueStatus(queue: String) async throws -> QueueStatus
}

/// What a passive `queue.declare` tells of a queue.
public struct QueueStatus: Sendable, Equatable {
    /// Messages ready to be delivered (not counting deliveries in flight).
    public var messages: Int
    /// Consumers taking from the queue now.
    public var consumers: Int

    public init(messages: Int, consumers: Int) {
        self.messages = messages
        self.consumers = consumers
    }
}

extension MessageBroker {
    /// How many messages wait in `queue`, ready to be delivered (not counting deliveries in flight).
    public func messageCount(queue: String) async throws -> Int {
        try await queueStatus(queue: queue).messages
    }

    /// Consumes until the calling task is cancelled (no drain).
    public func consume(
        queue: String, prefetch: Int, handler: @escaping @Sendable (Delivery) async -> Void
    ) async throws {
        try await consume(queue: queue, prefetch: prefetch, drain: nil, handler: handler)
    }
}

/// A message to publish.
public struct OutgoingMessage: Sendable, Equatable {
    /// Exchange name; `""` is the default exchange (routing key = queue name).
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    /// AMQP `message_id`; for events this is the event id.
    public var messageId: String
    /// AMQP `type`; for events this is the event name (`media.uploaded`).
    public var type: String
    /// String headers (e.g. `traceparent`, `x-attempt`).
    public var headers: [String: String]
    public var contentType: String
    /// Delivery mode 2 (written to disk by the broker).
    public var persistent: Bool

    public init(
        exchange: String,
        routingKey: String,
        body: [UInt8],
        messageId: String,
        type: String,
        headers: [String: String] = [:],
        contentType: String = "application/json",
        persistent: Bool = true
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageId = messageId
        self.type = type
        self.headers = headers
        self.contentType = contentType
        self.persistent = persistent
    }
}

/// A message received from a queue.
public struct IncomingMessage: Sendable, Equatable {
    public var queue: String
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var messageId: String
    public var type: String
    public var headers: [String: String]
    /// True when the broker delivered this message before without it being settled.
    public var redelivered: Bool

    public init(
        queue: String, exchange: String, routingKey: String, body: [UInt8], messageId: String,
        type: String, headers: [String: String], redelivered: Bool
    ) {
        self.queue = queue
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.messageId = messageId
        self.type = type
        self.headers = headers
        self.redelivered = redelivered
    }
}

/// Settles a delivery on the channel it arrived on.
public protocol DeliverySettler: Sendable {
    func ack(deliveryTag: UInt64) async throws
    func reject(deliveryTag: UInt64, requeue: Bool) async throws
}

/// One delivery: the message plus the means to settle it exactly once.
public struct Delivery: Sendable {
    public let message: IncomingMessage
    public let deliveryTag: UInt64
    let settler: any DeliverySettler

    public init(message: IncomingMessage, deliveryTag: UInt64, settler: any DeliverySettler) {
        self.message = message
        self.deliveryTag = deliveryTag
        self.settler = settler
    }

    /// Acknowledges the message: the broker forgets it.
    public func ack() async throws { try await settler.ack(deliveryTag: deliveryTag) }

    /// Rejects the message; with `requeue` the broker delivers it again (possibly to another consumer).
    public func reject(requeue: Bool) async throws {
        try await settler.reject(deliveryTag: deliveryTag, requeue: requeue)
    }
}

/// Exchanges, queues and bindings to declare.
public struct BrokerTopology: Sendable, Equatable {
    public struct Exchange: Sendable, Equatable {
        public var name: String
        public var type: String
        public init(name: String, type: String = "topic") {
            self.name = name
            self.type = type
        }
    }

    public struct Queue: Sendable, Equatable {
        public var name: String
        /// Queue arguments (`x-message-ttl`, `x-dead-letter-exchange`, `x-dead-letter-routing-key`, ...).
        public var arguments: [String: QueueArgument]
        public init(name: String, arguments: [String: QueueArgument] = [:]) {
            self.name = name
            self.arguments = arguments
        }
    }

    public struct Binding: Sendable, Equatable {
        public var queue: String
        public var exchange: String
        public var routingKey: String
        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }
}

/// The value of a queue argument.
public enum QueueArgument: Sendable, Equatable {
    case string(String)
    case int(Int64)
}
