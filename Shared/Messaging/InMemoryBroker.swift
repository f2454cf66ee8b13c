/// A `MessageBroker` in memory, with RabbitMQ's semantics for unit tests.
///
/// Topic routing (`*`/`#`, also `direct` and `fanout` exchanges), the default exchange routing to the queue
/// named by the routing key, per-queue FIFO, prefetch, redelivery (`redelivered = true`) of rejected-with-
/// requeue and of unsettled messages of a cancelled consumer, and the queue arguments `x-message-ttl`,
/// `x-dead-letter-exchange` and `x-dead-letter-routing-key` (an expired or rejected message moves to its
/// dead-letter target). Inspection helpers let tests look inside.
public actor InMemoryBroker: MessageBroker, DeliverySettler {
    private struct StoredMessage {
        var sequence: UInt64
        var message: OutgoingMessage
        var redelivered: Bool
    }

    private struct QueueState {
        var arguments: [String: QueueArgument]
        var ready: [StoredMessage] = []

        var ttl: Duration? {
            guard case .int(let milliseconds)? = arguments["x-message-ttl"] else { return nil }
            return .milliseconds(milliseconds)
        }

        var deadLetterExchange: String? {
            guard case .string(let exchange)? = arguments["x-dead-letter-exchange"] else { return nil }
            return exchange
        }

        var deadLetterRoutingKey: String? {
            guard case .string(let key)? = arguments["x-dead-letter-routing-key"] else { return nil }
            return key
        }
    }

    private struct Consumer {
        var queue: String
        var prefetch: Int
        var continuation: AsyncStream<Delivery>.Continuation
        var unsettled: Set<UInt64> = []
    }

    private struct Unsettled {
        var queue: String
        var consumer: UInt64
        var stored: StoredMessage
    }

    private var exchanges: [String: String] = [:]
    private var queues: [String: QueueState] = [:]
    private var bindings: [BrokerTopology.Binding] = []
    private var consumers: [UInt64: Consumer] = [:]
    private var unsettled: [UInt64: Unsettled] = [:]
    private var published: [OutgoingMessage] = []
    private var failPublish: (@Sendable (OutgoingMessage) -> Bool)?
    private var nextSequence: UInt64 = 1
    private var nextDeliveryTag: UInt64 = 1
    private var nextConsumerID: UInt64 = 1

    public init() {}

    // MARK: MessageBroker

    public func declare(_ topology: BrokerTopology) async throws {
        for exchange in topology.exchanges {
            if let existing = exchanges[exchange.name], existing != exchange.type {
                throw MessagingError.declareFailed("exchange \(exchange.name) exists with type \(existing)")
            }
            exchanges[exchange.name] = exchange.type
        }
        for queue in topology.queues {
            if let existing = queues[queue.name] {
                guard existing.arguments == queue.arguments else {
                    throw MessagingError.declareFailed("queue \(queue.name) exists with other arguments")
                }
            } else {
                queues[queue.name] = QueueState(arguments: queue.arguments)
            }
        }
        for binding in topology.bindings {
            guard queues[binding.queue] != nil else {
                throw MessagingError.declareFailed("no queue \(binding.queue)")
            }
            guard exchanges[binding.exchange] != nil else {
                throw MessagingError.declareFailed("no exchange \(binding.exchange)")
            }
            if !bindings.contains(binding) { bindings.append(binding) }
        }
    }

    public func publish(_ message: OutgoingMessage) async throws {
        if let failPublish, failPublish(message) {
            throw MessagingError.publishFailed("publish failure injected by the test")
        }
        guard message.exchange.isEmpty || exchanges[message.exchange] != nil else {
            throw MessagingError.exchangeNotFound("no exchange \(message.exchange)")
        }
        published.append(message)
        route(message)
    }

    public func consume(
        queue: String,
        prefetch: Int,
        drain: DrainSignal?,
        handler: @escaping @Sendable (Delivery) async -> Void
    ) async throws {
        guard queues[queue] != nil else { throw MessagingError.consumeFailed("no queue \(queue)") }
        let (stream, continuation) = AsyncStream<Delivery>.makeStream()
        let id = nextConsumerID
        nextConsumerID += 1
        consumers[id] = Consumer(queue: queue, prefetch: max(prefetch, 1), continuation: continuation)
        dispatch(queue)
        let watcher = drain.map { drain in
            Task { [weak self] in
                await drain.wait()
                if !Task.isCancelled { await self?.stopTaking(id) }
            }
        }
        await withDiscardingTaskGroup { group in
            for await delivery in stream {
                group.addTask { await handler(delivery) }
            }
        }
        watcher?.cancel()
        // Like closing the channel: whatever the consumer did not settle goes back to the queue.
        cancelConsumer(id)
    }

    public func queueStatus(queue: String) async throws -> QueueStatus {
        guard let state = queues[queue] else { throw MessagingError.consumeFailed("no queue \(queue)") }
        return QueueStatus(messages: state.ready.count,
                           consumers: consumers.values.filter { $0.queue == queue && $0.prefetch > 0 }.count)
    }

    /// A draining consumer takes nothing more; its deliveries in hand stay its own until settled.
    private func stopTaking(_ id: UInt64) {
        guard var consumer = consumers[id] else { return }
        consumer.prefetch = 0
        consumers[id] = consumer
        consumer.continuation.finish()
    }

    // MARK: DeliverySettler

    public func ack(deliveryTag: UInt64) async throws {
        let entry = try takeUnsettled(deliveryTag)
        dispatch(entry.queue)
    }

    public func reject(deliveryTag: UInt64, requeue: Bool) async throws {
        let entry = try takeUnsettled(deliveryTag)
        if requeue {
            var stored = entry.stored
            stored.redelivered = true
            requeueInOrder(stored, into: entry.queue)
        } else {
            deadLetter(entry.stored.message, from: entry.queue)
        }
        dispatch(entry.queue)
    }

    // MARK: Inspection for tests

    /// The messages ready in `queue` (not delivered, or requeued), in delivery order.
    public func messages(in queue: String) -> [IncomingMessage] {
        (queues[queue]?.ready ?? []).map { incoming($0, queue: queue) }
    }

    /// How many messages of `queue` are delivered and not settled yet.
    public func unsettledCount(in queue: String) -> Int {
        unsettled.values.filter { $0.queue == queue }.count
    }

    /// Every message accepted by `publish`, in order.
    public var publishedMessages: [OutgoingMessage] { published }

    /// How many messages `publish` accepted.
    public var publishedCount: Int { published.count }

    /// Names of the declared queues.
    public var queueNames: [String] { queues.keys.sorted() }

    /// Makes `publish` throw for messages matching `predicate` (nil: publish normally again).
    public func failPublishes(where predicate: (@Sendable (OutgoingMessage) -> Bool)?) {
        failPublish = predicate
    }

    // MARK: Routing

    private func route(_ message: OutgoingMessage) {
        if message.exchange.isEmpty {
            if queues[message.routingKey] != nil { enqueue(message, into: message.routingKey) }
            return
        }
        let type = exchanges[message.exchange] ?? "topic"
        var targets: [String] = []
        for binding in bindings where binding.exchange == message.exchange && !targets.contains(binding.queue) {
            let matches: Bool
            switch type {
            case "fanout": matches = true
            case "direct": matches = binding.routingKey == message.routingKey
            default: matches = topicMatches(pattern: binding.routingKey, routingKey: message.routingKey)
            }
            if matches { targets.append(binding.queue) }
        }
        for queue in targets { enqueue(message, into: queue) }
    }

    private func enqueue(_ message: OutgoingMessage, into queue: String) {
        let stored = StoredMessage(sequence: nextSequence, message: message, redelivered: false)
        nextSequence += 1
        queues[queue]?.ready.append(stored)
        scheduleExpiry(of: stored.sequence, in: queue)
        dispatch(queue)
    }

    private func requeueInOrder(_ stored: StoredMessage, into queue: String) {
        guard var state = queues[queue] else { return }
        let index = state.ready.firstIndex { $0.sequence > stored.sequence } ?? state.ready.endIndex
        state.ready.insert(stored, at: index)
        queues[queue] = state
        scheduleExpiry(of: stored.sequence, in: queue)
    }

    private func scheduleExpiry(of sequence: UInt64, in queue: String) {
        guard let ttl = queues[queue]?.ttl else { return }
        Task {
            try? await Task.sleep(for: ttl)
            self.expire(sequence, in: queue)
        }
    }

    private func expire(_ sequence: UInt64, in queue: String) {
        guard let index = queues[queue]?.ready.firstIndex(where: { $0.sequence == sequence }),
              let stored = queues[queue]?.ready.remove(at: index)
        else { return }  // delivered meanwhile
        deadLetter(stored.message, from: queue)
    }

    /// Expired or rejected without requeue: to the queue's dead-letter target, or dropped when it has none.
    private func deadLetter(_ message: OutgoingMessage, from queue: String) {
        guard let state = queues[queue], let exchange = state.deadLetterExchange else { return }
        var message = message
        message.exchange = exchange
        message.routingKey = state.deadLetterRoutingKey ?? message.routingKey
        route(message)
    }

    private func dispatch(_ queue: String) {
        while let next = queues[queue]?.ready.first {
            let candidates = consumers.filter { $0.value.queue == queue && $0.value.unsettled.count < $0.value.prefetch }
            // The least busy consumer first (ties: the oldest), which spreads work like RabbitMQ's round robin.
            guard let id = candidates.min(by: {
                ($0.value.unsettled.count, $0.key) < ($1.value.unsettled.count, $1.key)
            })?.key,
                var consumer = consumers[id]
            else { return }
            queues[queue]?.ready.removeFirst()
            let tag = nextDeliveryTag
            nextDeliveryTag += 1
            consumer.unsettled.insert(tag)
            consumers[id] = consumer
            unsettled[tag] = Unsettled(queue: queue, consumer: id, stored: next)
            consumer.continuation.yield(Delivery(message: incoming(next, queue: queue), deliveryTag: tag, settler: self))
        }
    }

    private func cancelConsumer(_ id: UInt64) {
        guard let consumer = consumers.removeValue(forKey: id) else { return }
        consumer.continuation.finish()
        for tag in consumer.unsettled.sorted() {
            guard let entry = unsettled.removeValue(forKey: tag) else { continue }
            var stored = entry.stored
            stored.redelivered = true
            requeueInOrder(stored, into: entry.queue)
        }
        dispatch(consumer.queue)
    }

    private func takeUnsettled(_ tag: UInt64) throws -> Unsettled {
        guard let entry = unsettled.removeValue(forKey: tag) else {
            throw MessagingError.deliveryNotSettleable("delivery \(tag) is settled already or its consumer is gone")
        }
        consumers[entry.consumer]?.unsettled.remove(tag)
        return entry
    }

    private func incoming(_ stored: StoredMessage, queue: String) -> IncomingMessage {
        IncomingMessage(
            queue: queue, exchange: stored.message.exchange, routingKey: stored.message.routingKey,
            body: stored.message.body, messageId: stored.message.messageId, type: stored.message.type,
            headers: stored.message.headers, redelivered: stored.redelivered)
    }
}
