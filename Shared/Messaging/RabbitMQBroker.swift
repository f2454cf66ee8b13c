import Logging

/// `MessageBroker` over RabbitMQ (rabbitmq-c 0.11).
///
/// rabbitmq-c is blocking and not thread-safe, so every connection lives on its own dedicated thread and
/// never blocks Swift's cooperative pool: one publisher connection (confirm mode; also used for `declare`)
/// and one connection per `consume` call. Call `shutdown()` when done (releasing the broker also stops
/// the publisher thread, without waiting).
public final class RabbitMQBroker: MessageBroker {
    private let nodes: AMQPNodes
    private let queueType: QueueType
    private let heartbeat: Int32
    private let logger: Logger
    private let publisher: RabbitMQPublisher

    /// - Parameters:
    ///   - url: `amqp://user:pass@host:port/vhost` (vhost `/` when the path is empty; `%2F` spells `/`), or several
    ///     nodes of a cluster separated by commas (`AMQPNodes`): every connection fails over between them.
    ///   - queueType: `.quorum` declares every queue as a replicated quorum queue (`QueueType`).
    ///   - heartbeatSeconds: AMQP heartbeat negotiated with the broker.
    public init(url: String, queueType: QueueType = .classic, heartbeatSeconds: Int = 30, logger: Logger) throws {
        self.nodes = try AMQPNodes(url: url)
        self.queueType = queueType
        self.heartbeat = Int32(clamping: heartbeatSeconds)
        self.logger = logger
        self.publisher = RabbitMQPublisher(nodes: nodes, heartbeat: heartbeat, logger: logger)
        publisher.start()
    }

    deinit {
        publisher.commands.requestStop()
    }

    public func declare(_ topology: BrokerTopology) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(.declare(queueType.applied(to: topology), continuation), continuation)
        }
    }

    public func publish(_ message: OutgoingMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(.publish(message, continuation), continuation)
        }
    }

    public func queueStatus(queue: String) async throws -> QueueStatus {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<QueueStatus, any Error>) in
            if !publisher.commands.push(.queueStatus(queue, continuation)) {
                continuation.resume(throwing: MessagingError.shutdown("the broker client was shut down"))
            }
        }
    }

    /// Deletes a queue (tests and tools; services never delete).
    public func deleteQueue(_ name: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(.deleteQueue(name, continuation), continuation)
        }
    }

    /// Deletes an exchange (tests and tools; services never delete).
    public func deleteExchange(_ name: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            enqueue(.deleteExchange(name, continuation), continuation)
        }
    }

    public func consume(
        queue: String,
        prefetch: Int,
        drain: DrainSignal?,
        handler: @escaping @Sendable (Delivery) async -> Void
    ) async throws {
        let (stream, continuation) = AsyncThrowingStream<Delivery, any Error>.makeStream()
        let consumer = RabbitMQConsumer(
            nodes: nodes, queue: queue, prefetch: prefetch, heartbeat: heartbeat, logger: logger,
            deliveries: continuation)
        consumer.start()
        // Draining ends the delivery stream (the consumer is cancelled at the broker); the handlers in hand run on.
        let watcher = drain.map { drain in
            Task {
                await drain.wait()
                if !Task.isCancelled { consumer.stopTaking() }
            }
        }
        defer { watcher?.cancel() }
        do {
            // The broker enforces prefetch (basic.qos), so at most `prefetch` handlers run at once.
            try await withThrowingDiscardingTaskGroup { group in
                for try await delivery in stream {
                    group.addTask { await handler(delivery) }
                }
            }
        } catch is CancellationError {
            // Cancelled: stop quietly below.
        } catch {
            consumer.stop()
            await consumer.exited.wait()
            throw error
        }
        // Handlers have finished (and had the chance to settle); now close the connection cleanly.
        consumer.stop()
        await consumer.exited.wait()
    }

    /// Stops the publisher thread: queued publishes are written and confirmed first, then the connection closes.
    public func shutdown() async {
        publisher.commands.requestStop()
        await publisher.exited.wait()
    }

    private func enqueue(_ command: RabbitMQPublisher.Command, _ continuation: CheckedContinuation<Void, any Error>) {
        if !publisher.commands.push(command) {
            continuation.resume(throwing: MessagingError.shutdown("the broker client was shut down"))
        }
    }
}
