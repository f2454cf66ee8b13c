import Testing
@testable import Messaging

@Suite("Topic matching")
struct TopicMatchingTests {
    @Test(arguments: [
        ("media.uploaded.image", "media.uploaded.image", true),
        ("media.uploaded.*", "media.uploaded.image", true),
        ("media.uploaded.*", "media.uploaded", false),
        ("media.uploaded.*", "media.uploaded.image.big", false),
        ("media.#", "media", true),
        ("media.#", "media.ready", true),
        ("media.#", "media.uploaded.video", true),
        ("#", "anything.at.all", true),
        ("*.ready", "media.ready", true),
        ("*.ready", "media.failed", false),
        ("media.#.video", "media.uploaded.video", true),
        ("media.#.video", "media.video", true),
        ("media.#.video", "media.uploaded.image", false),
    ])
    func matches(pattern: String, key: String, expected: Bool) {
        #expect(topicMatches(pattern: pattern, routingKey: key) == expected)
    }
}

@Suite("InMemoryBroker")
struct InMemoryBrokerTests {
    let topology = BrokerTopology(
        exchanges: [.init(name: "media.events")],
        queues: [.init(name: "image-service"), .init(name: "gateway.status"), .init(name: "everything")],
        bindings: [
            .init(queue: "image-service", exchange: "media.events", routingKey: "media.uploaded.image"),
            .init(queue: "gateway.status", exchange: "media.events", routingKey: "media.ready"),
            .init(queue: "gateway.status", exchange: "media.events", routingKey: "media.failed"),
            .init(queue: "everything", exchange: "media.events", routingKey: "media.#"),
        ])

    @Test func routesByTopicAndDefaultExchange() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(topology)
        try await broker.declare(topology)  // idempotent
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "a"))
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.video", id: "b"))
        try await broker.publish(message(exchange: "media.events", routingKey: "media.ready", id: "c"))
        try await broker.publish(message(exchange: "", routingKey: "image-service", id: "d"))
        try await broker.publish(message(exchange: "", routingKey: "no-such-queue", id: "e"))

        #expect(await broker.messages(in: "image-service").map(\.messageId) == ["a", "d"])
        #expect(await broker.messages(in: "gateway.status").map(\.messageId) == ["c"])
        #expect(await broker.messages(in: "everything").map(\.messageId) == ["a", "b", "c"])
        #expect(await broker.publishedCount == 5)
        let first = try #require(await broker.messages(in: "image-service").first)
        #expect(first.exchange == "media.events")
        #expect(first.routingKey == "media.uploaded.image")
        #expect(first.redelivered == false)
    }

    @Test func rejectsUnknownExchangeAndConflictingRedeclare() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(topology)
        await #expect(throws: MessagingError.exchangeNotFound) {
            try await broker.publish(message(exchange: "nope", routingKey: "x"))
        }
        await #expect(throws: MessagingError.declareFailed) {
            try await broker.declare(BrokerTopology(queues: [.init(name: "image-service", arguments: ["x-message-ttl": .int(5)])]))
        }
        #expect(await broker.publishedCount == 0)
    }

    @Test func honoursPrefetchAndDeliversInOrder() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(topology)
        for index in 1...5 {
            try await broker.publish(message(exchange: "", routingKey: "image-service", id: "m\(index)"))
        }
        let received = Recorder<Delivery>()
        let consumer = Task {
            try await broker.consume(queue: "image-service", prefetch: 2) { delivery in received.append(delivery) }
        }
        #expect(await eventually { received.count == 2 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(received.count == 2, "prefetch 2 allows only two unsettled deliveries")
        #expect(await broker.unsettledCount(in: "image-service") == 2)

        try await received.values[0].ack()
        #expect(await eventually { received.count == 3 })
        // Deliveries are handled concurrently (as with a real prefetch), so the recorder's order is the handlers'
        // race; the broker's order is the delivery tags'.
        let inDeliveryOrder = received.values.sorted { $0.deliveryTag < $1.deliveryTag }
        #expect(inDeliveryOrder.map(\.message.messageId) == ["m1", "m2", "m3"])
        await #expect(throws: MessagingError.deliveryNotSettleable) { try await received.values[0].ack() }
        consumer.cancel()
        try await consumer.value
    }

    @Test func redeliversRejectedAndAbandonedMessages() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(topology)
        try await broker.publish(message(exchange: "", routingKey: "image-service", id: "m1"))
        try await broker.publish(message(exchange: "", routingKey: "image-service", id: "m2"))

        let received = Recorder<Delivery>()
        let consumer = Task {
            try await broker.consume(queue: "image-service", prefetch: 1) { delivery in received.append(delivery) }
        }
        #expect(await eventually { received.count == 1 })
        try await received.values[0].reject(requeue: true)
        #expect(await eventually { received.count == 2 })
        let again = received.values[1]
        #expect(again.message.messageId == "m1")
        #expect(again.message.redelivered)

        consumer.cancel()
        try await consumer.value
        // The unsettled m1 went back to the head of the queue, flagged redelivered; settling it now fails.
        let ready = await broker.messages(in: "image-service")
        #expect(ready.map(\.messageId) == ["m1", "m2"])
        #expect(ready.map(\.redelivered) == [true, false])
        await #expect(throws: MessagingError.deliveryNotSettleable) { try await again.ack() }
    }

    @Test func expiredMessagesMoveToTheirDeadLetterTarget() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(BrokerTopology(queues: [
            .init(name: "target"),
            .init(name: "waiting", arguments: [
                "x-message-ttl": .int(50), "x-dead-letter-exchange": .string(""),
                "x-dead-letter-routing-key": .string("target"),
            ]),
        ]))
        try await broker.publish(message(exchange: "", routingKey: "waiting", id: "m1", headers: ["k": "v"]))
        #expect(await broker.messages(in: "waiting").count == 1)
        #expect(await eventually { await broker.messages(in: "target").count == 1 })
        #expect(await broker.messages(in: "waiting").isEmpty)
        let moved = try #require(await broker.messages(in: "target").first)
        #expect(moved.messageId == "m1")
        #expect(moved.headers["k"] == "v")
        #expect(moved.routingKey == "target")
    }
}
