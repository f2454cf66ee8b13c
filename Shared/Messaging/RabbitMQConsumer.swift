import Logging
import MediaDomain

/// One `consume` call: its own connection on its own thread, manual acks, prefetch via basic.qos.
///
/// The thread alternates between executing queued settle requests and `amqp_consume_message` with a short
/// timeout (so acks and heartbeats are serviced). On connection or channel loss it reconnects with growing
/// backoff and resumes consuming; deliveries of the dead connection can no longer be settled (the broker
/// redelivers them anyway), so settling them throws.
final class RabbitMQConsumer: @unchecked Sendable {
    // @unchecked: the mutable state below is confined to the consumer thread; other threads only use
    // `commands`, `exited` and the stream continuation (all Sendable).
    enum Settlement: Sendable {
        case ack
        case reject(requeue: Bool)
    }

    enum Command: Sendable {
        case settle(tag: UInt64, generation: UInt64, Settlement, CheckedContinuation<Void, any Error>)
        /// Drain: take no new message; settle the ones in hand until `stop`.
        case stopTaking
    }

    private static let channel: UInt16 = 1
    private static let pollInterval: Duration = .milliseconds(50)

    let commands = CommandQueue<Command>()
    let exited = ExitSignal()
    private let nodes: AMQPNodes
    /// The node to try first on the next connect: the one after the node whose connection was lost.
    private var preferredNode = 0
    /// The node of the current connection, for logs.
    private var connectedNode = 0
    private let queue: String
    private let prefetch: UInt16
    private let heartbeat: Int32
    private let logger: Logger
    private let deliveries: AsyncThrowingStream<Delivery, any Error>.Continuation

    private var connection: AMQPConnection?
    /// Bumped on every (re)connect; a delivery can only be settled on the connection it came from.
    private var generation: UInt64 = 0
    /// Set by `.stopTaking`: the consumer is cancelled and whatever still arrives goes straight back.
    private var draining = false

    init(
        nodes: AMQPNodes, queue: String, prefetch: Int, heartbeat: Int32, logger: Logger,
        deliveries: AsyncThrowingStream<Delivery, any Error>.Continuation
    ) {
        self.nodes = nodes
        self.queue = queue
        self.prefetch = UInt16(clamping: max(prefetch, 1))
        self.heartbeat = heartbeat
        self.logger = logger
        self.deliveries = deliveries
    }

    func start() {
        startConnectionThread(name: "amqp-consumer-\(queue)") { [self] in run() }
    }

    private func run() {
        var backoff = Backoff()
        var everConnected = false
        outer: while !commands.isStopping {
            // A drain that began while the connection was down has nothing in hand: never consume again.
            if draining { break outer }
            do {
                try connect()
                everConnected = true
                backoff.reset()
            } catch {
                if case .channel(let code, let text) = error, !everConnected {
                    // The queue is missing or not ours: a configuration error, not an outage.
                    deliveries.finish(throwing: MessagingError.consumeFailed("cannot consume \(queue): \(code) \(text)"))
                    break outer
                }
                let delay = backoff.next()
                if draining { break outer }
                logger.warning("consumer cannot connect", metadata: [
                    "queue": "\(queue)", "error": "\(error.text)", "retry_in": "\(delay)",
                ])
                sleep(delay)
                continue
            }
            while true {
                let (batch, stopping) = commands.takeAll()
                for command in batch { execute(command) }
                if stopping { break outer }
                guard let connection, connection.isUsable else {
                    // Draining: a lost connection gave every delivery in hand back to the broker; nothing to wait for.
                    if draining { break outer }
                    break
                }
                switch connection.consumeMessage(queue: queue, timeout: Self.pollInterval) {
                case .message(let received) where draining:
                    // Sent before the broker saw the cancel: straight back to the queue, untouched. (If the reject
                    // fails the connection is gone, which gives the message back all the same.)
                    try? connection.reject(received.deliveryTag, requeue: true, channel: Self.channel)
                case .message(let received):
                    let settler = RabbitMQSettler(consumer: self, generation: generation)
                    deliveries.yield(Delivery(message: received.message, deliveryTag: received.deliveryTag, settler: settler))
                case .timeout:
                    continue
                case .lost(let text):
                    logger.warning("consumer connection lost", metadata: ["queue": "\(queue)", "error": "\(text)"])
                }
            }
            connection?.close()
            connection = nil
            if draining { break outer }
            sleep(backoff.next())
        }
        for command in commands.close() { execute(command) }
        connection?.close()
        connection = nil
        deliveries.finish()
        exited.fire()
    }

    private func connect() throws(AMQPFailure) {
        let (connection, node) = try AMQPConnection.open(nodes, from: preferredNode, heartbeatSeconds: heartbeat)
        connectedNode = node
        preferredNode = nodes.endpoints.count > 1 ? node + 1 : 0
        do {
            try connection.openChannel(Self.channel)
            try connection.qos(prefetch: prefetch, channel: Self.channel)
            try connection.startConsuming(queue: queue, channel: Self.channel)
        } catch {
            connection.close()
            throw error
        }
        self.connection = connection
        generation += 1
        logger.info("consumer connected", metadata: ["queue": "\(queue)", "amqp_url": "\(nodes.endpoints[connectedNode].redacted)"])
    }

    private func execute(_ command: Command) {
        switch command {
        case .stopTaking:
            guard !draining else { return }
            draining = true
            if let connection, connection.isUsable {
                do {
                    try connection.cancelConsuming(channel: Self.channel)
                } catch {
                    logger.warning("cannot cancel the consumer; closing its connection", metadata: [
                        "queue": "\(queue)", "error": "\(error.text)",
                    ])
                    connection.close()
                    self.connection = nil
                }
            }
            logger.info("consumer draining: no new messages taken", metadata: ["queue": "\(queue)"])
            // The handlers of the deliveries in hand keep running; no new ones come.
            deliveries.finish()
        case .settle(let tag, let generation, let settlement, let continuation):
            guard generation == self.generation, let connection, connection.isUsable else {
                continuation.resume(throwing: MessagingError.deliveryNotSettleable(
                    "the connection this delivery came from is gone; the broker redelivers it"))
                return
            }
            do {
                switch settlement {
                case .ack: try connection.ack(tag, channel: Self.channel)
                case .reject(let requeue): try connection.reject(tag, requeue: requeue, channel: Self.channel)
                }
                continuation.resume()
            } catch {
                continuation.resume(throwing: MessagingError.connectionLost(error.text))
            }
        }
    }

    /// Sleeps in short steps so a stop request is noticed; settle requests meanwhile fail (their connection is gone).
    private func sleep(_ duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            let (batch, stopping) = commands.takeAll(waitingUpTo: min(Self.pollInterval, deadline - .now).seconds)
            for command in batch { execute(command) }
            if stopping { return }
        }
    }

    func stop() { commands.requestStop() }

    /// Stops taking messages, keeps settling the ones in hand (a drain).
    func stopTaking() { _ = commands.push(.stopTaking) }
}

/// Settles deliveries by queueing the request to the consumer's thread.
struct RabbitMQSettler: DeliverySettler {
    let consumer: RabbitMQConsumer
    let generation: UInt64

    func ack(deliveryTag: UInt64) async throws {
        try await settle(deliveryTag, .ack)
    }

    func reject(deliveryTag: UInt64, requeue: Bool) async throws {
        try await settle(deliveryTag, .reject(requeue: requeue))
    }

    private func settle(_ tag: UInt64, _ settlement: RabbitMQConsumer.Settlement) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let queued = consumer.commands.push(.settle(tag: tag, generation: generation, settlement, continuation))
            if !queued {
                continuation.resume(throwing: MessagingError.deliveryNotSettleable("the consumer has stopped"))
            }
        }
    }
}
