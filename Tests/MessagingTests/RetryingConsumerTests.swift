import Logging
import Testing
import Messaging

@Suite("RetryingConsumer against InMemoryBroker")
struct RetryingConsumerTests {
    let queue = "image-service"
    let logger = Logger(label: "test")

    func makeBroker(delays: [Duration]) async throws -> InMemoryBroker {
        let broker = InMemoryBroker()
        try await broker.declare(.workQueue(
            name: queue, exchange: "media.events", routingKeys: ["media.uploaded.image"], retryDelays: delays))
        return broker
    }

    @Test func topologyHasRetryTiersAndDeadQueue() {
        let topology = BrokerTopology.workQueue(
            name: "q", exchange: "ex", routingKeys: ["a.*", "b.#"], retryDelays: [.seconds(1), .milliseconds(5500)])
        #expect(topology.exchanges == [.init(name: "ex", type: "topic")])
        #expect(topology.queues.map(\.name) == ["q", "q.retry.1", "q.retry.2", "q.dead"])
        #expect(topology.queues[2].arguments == [
            "x-message-ttl": .int(5500), "x-dead-letter-exchange": .string(""),
            "x-dead-letter-routing-key": .string("q"),
        ])
        #expect(topology.queues[0].arguments.isEmpty && topology.queues[3].arguments.isEmpty)
        #expect(topology.bindings == [.init(queue: "q", exchange: "ex", routingKey: "a.*"),
                                      .init(queue: "q", exchange: "ex", routingKey: "b.#")])
        #expect(RetryPolicy.exponential(delays: [.seconds(1), .seconds(5), .seconds(30)]).maxAttempts == 4)
        #expect(RetryPolicy.exponential(initial: .seconds(1), factor: 5, retries: 3).delays
            == [.seconds(1), .seconds(5), .seconds(25)])
    }

    @Test func retriesThroughTheTiersThenAcks() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(30), .milliseconds(30)])
        let attempts = Recorder<Int>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, prefetch: 2, policy: .exponential(delays: [.milliseconds(30), .milliseconds(30)]),
            logger: logger,
            handler: { _, attempt in
                attempts.append(attempt)
                return attempt < 3 ? .retry(reason: "storage hiccup") : .ack
            },
            onDeadLetter: { _, _ in Issue.record("must not dead-letter") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(
            exchange: "media.events", routingKey: "media.uploaded.image", id: "m1", headers: ["traceparent": "t"]))

        #expect(await eventually { attempts.count == 3 })
        #expect(await eventually { await broker.unsettledCount(in: queue) == 0 })
        #expect(attempts.values == [1, 2, 3])
        let copies = await broker.publishedMessages.filter { $0.exchange.isEmpty }
        #expect(copies.map(\.routingKey) == ["\(queue).retry.1", "\(queue).retry.2"])
        #expect(copies.map { $0.headers[MessageHeaders.attempt] } == ["2", "3"])
        for copy in copies {
            #expect(copy.messageId == "m1")
            #expect(copy.headers["traceparent"] == "t")
            #expect(copy.headers[MessageHeaders.originalExchange] == "media.events")
            #expect(copy.headers[MessageHeaders.originalRoutingKey] == "media.uploaded.image")
        }
        #expect(await broker.messages(in: queue).isEmpty)
        #expect(await broker.messages(in: "\(queue).dead").isEmpty)
        task.cancel()
        try await task.value
    }

    @Test func deadLettersAfterMaxAttempts() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(20), .milliseconds(20)])
        let attempts = Recorder<Int>()
        let deadLettered = Recorder<String>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, policy: .exponential(delays: [.milliseconds(20), .milliseconds(20)]),
            logger: logger,
            handler: { _, attempt in
                attempts.append(attempt)
                return .retry(reason: "still broken")
            },
            onDeadLetter: { message, reason in deadLettered.append("\(message.messageId): \(reason)") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))

        #expect(await eventually { await broker.messages(in: "\(queue).dead").count == 1 })
        #expect(await eventually { await broker.unsettledCount(in: queue) == 0 })
        #expect(attempts.values == [1, 2, 3])
        #expect(deadLettered.count == 1)
        #expect(deadLettered.values.first?.hasPrefix("m1: attempts exhausted (3)") == true)
        let dead = try #require(await broker.messages(in: "\(queue).dead").first)
        #expect(dead.messageId == "m1")
        #expect(dead.headers[MessageHeaders.deadReason]?.contains("still broken") == true)
        #expect(dead.headers[MessageHeaders.originalExchange] == "media.events")
        #expect(dead.headers[MessageHeaders.originalRoutingKey] == "media.uploaded.image")
        #expect(dead.headers[MessageHeaders.originalQueue] == queue)
        #expect(await broker.messages(in: queue).isEmpty)
        task.cancel()
        try await task.value
    }

    @Test func permanentFailureDeadLettersAtOnce() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(20)])
        let deadLettered = Recorder<String>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, policy: .exponential(delays: [.milliseconds(20)]), logger: logger,
            handler: { _, _ in .deadLetter(reason: "unsupported format") },
            onDeadLetter: { _, reason in deadLettered.append(reason) })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))
        #expect(await eventually { deadLettered.count == 1 })
        #expect(deadLettered.values == ["unsupported format"])
        #expect(await broker.publishedMessages.filter { $0.routingKey.contains(".retry.") }.isEmpty)
        task.cancel()
        try await task.value
    }

    @Test func nothingIsLostWhenTheRetryPublishFails() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(20)])
        await broker.failPublishes { $0.routingKey == "image-service.retry.1" }
        let seen = Recorder<(attempt: Int, redelivered: Bool)>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, policy: .exponential(delays: [.milliseconds(20)], requeueDelay: .zero),
            logger: logger,
            handler: { message, attempt in
                seen.append((attempt, message.redelivered))
                return message.redelivered ? .ack : .retry(reason: "transient")
            },
            onDeadLetter: { _, _ in Issue.record("must not dead-letter") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))

        #expect(await eventually { seen.count == 2 })
        #expect(seen.values.map(\.redelivered) == [false, true], "the failed retry publish requeued the delivery")
        #expect(seen.values.map(\.attempt) == [1, 1])
        #expect(await eventually { await broker.unsettledCount(in: queue) == 0 })
        #expect(await broker.messages(in: queue).isEmpty)
        task.cancel()
        try await task.value
    }

    @Test func nothingIsLostWhenOnDeadLetterFails() async throws {
        struct Boom: Error {}
        let broker = try await makeBroker(delays: [])
        let calls = Recorder<Bool>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, policy: .exponential(delays: [], requeueDelay: .zero), logger: logger,
            handler: { _, _ in .retry(reason: "broken") },
            onDeadLetter: { message, _ in
                calls.append(message.redelivered)
                if !message.redelivered { throw Boom() }
            })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))
        #expect(await eventually { calls.count == 2 })
        #expect(calls.values == [false, true])
        #expect(await eventually { await broker.unsettledCount(in: queue) == 0 })
        // At least once: the first dead copy was published before onDeadLetter failed.
        #expect(await broker.messages(in: "\(queue).dead").count == 2)
        task.cancel()
        try await task.value
    }
}
