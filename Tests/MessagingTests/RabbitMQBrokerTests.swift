import Foundation
import Logging
import Testing
import TestSupport
import Messaging

private let amqpURL = ProcessInfo.processInfo.environment["MEDIA_TEST_AMQP_URL"]
private let rabbitmqCtl = ProcessInfo.processInfo.environment["MEDIA_TEST_RABBITMQ_CTL"]

/// Against a real RabbitMQ: `MEDIA_TEST_AMQP_URL=amqp://guest:guest@localhost:5672/%2F swift test`.
@Suite(
    "RabbitMQBroker against a real broker",
    .serialized,
    .enabled(if: amqpURL != nil, "set MEDIA_TEST_AMQP_URL (amqp://user:pass@host:port/vhost) to run against RabbitMQ"))
struct RabbitMQBrokerTests {
    let logger = Logger(label: "rabbitmq-test")

    func makeBroker() throws -> RabbitMQBroker {
        try RabbitMQBroker(url: amqpURL ?? "", logger: logger)
    }

    /// Deletes what a test declared (and only that).
    func cleanUp(_ broker: RabbitMQBroker, _ topology: BrokerTopology) async {
        for queue in topology.queues { try? await broker.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try? await broker.deleteExchange(exchange.name) }
        await broker.shutdown()
    }

    @Test func declaringTwiceIsHarmlessAndConflictsAreReported() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.declare")
        let topology = BrokerTopology.workQueue(
            name: name, exchange: uniqueName("test.ex"), routingKeys: ["media.uploaded.image"],
            retryDelays: [.milliseconds(200), .seconds(1)])
        try await broker.declare(topology)
        try await broker.declare(topology)
        // The broker really holds the retry tier: redeclaring it with another TTL is refused.
        await #expect(throws: MessagingError.declareFailed) {
            try await broker.declare(BrokerTopology(queues: [
                .init(name: "\(name).retry.1", arguments: ["x-message-ttl": .int(999)]),
            ]))
        }
        // ...and the publisher still works after the declare channel was closed by the broker.
        try await broker.publish(message(exchange: "", routingKey: name, id: "after-conflict"))
        await cleanUp(broker, topology)
    }

    /// Issue 27, defect 0b, the broker's half: on quorum queues a message handed out `QueueType.deliveryLimit` times
    /// without an acknowledgement (each consumer died with it) is parked in the work queue's dead queue, with the
    /// broker's reason, instead of going round forever.
    @Test func aQuorumWorkQueueParksAMessageDeliveredTooOften() async throws {
        let broker = try RabbitMQBroker(url: amqpURL ?? "", queueType: .quorum, logger: logger)
        let name = uniqueName("test.limit")
        let topology = BrokerTopology.workQueue(name: name, exchange: uniqueName("test.ex"), routingKeys: ["k"], retryDelays: [.seconds(1)])
        try await broker.declare(topology)
        try await broker.publish(message(exchange: "", routingKey: name, id: "poison"))
        let deliveries = Recorder<String>()
        let consumer = Task {
            // Each delivery goes back unacknowledged, as when the process handling it dies.
            try await broker.consume(queue: name, prefetch: 1) { delivery in
                deliveries.append(delivery.message.messageId)
                try? await delivery.reject(requeue: true)
            }
        }
        let dead = BrokerTopology.deadLetterQueueName(name)
        #expect(await eventually(timeout: .seconds(30)) { (try? await broker.messageCount(queue: dead)) == 1 })
        consumer.cancel()
        try? await consumer.value
        #expect((Int(QueueType.deliveryLimit)...Int(QueueType.deliveryLimit) + 1).contains(deliveries.count), "\(deliveries.count)")
        #expect(try await broker.messageCount(queue: name) == 0)
        let parked = try await broker.withMessages(queue: dead, limit: 1) { $0.map(\.message) }
        #expect(parked.first?.messageId == "poison")
        #expect(parked.first?.headers["x-first-death-reason"] == "delivery_limit")
        #expect(parked.first?.headers["x-first-death-queue"] == name)
        await cleanUp(broker, topology)
    }

    @Test func drainingConsumerTakesNothingNewAndLetsTheHandlerInHandFinish() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.drain")
        let topology = BrokerTopology(queues: [.init(name: name)])
        try await broker.declare(topology)
        for id in ["d1", "d2", "d3"] { try await broker.publish(message(exchange: "", routingKey: name, id: id)) }
        #expect(try await broker.messageCount(queue: name) == 3)
        let started = Recorder<String>()
        let finished = Recorder<String>()
        let drain = DrainSignal()
        let consumer = Task {
            try await broker.consume(queue: name, prefetch: 1, drain: drain) { delivery in
                started.append(delivery.message.messageId)
                try? await Task.sleep(for: .milliseconds(500))
                finished.append(delivery.message.messageId)
                try? await delivery.ack()
            }
        }
        #expect(await eventually { started.count == 1 })
        // The broker counts the consumer (the Gateway asks it whether a Janitor listens).
        #expect(try await broker.queueStatus(queue: name).consumers == 1)
        drain.fire()
        try await consumer.value
        #expect(try await broker.queueStatus(queue: name) == QueueStatus(messages: 2, consumers: 0))
        #expect(finished.values == ["d1"], "the delivery in hand was finished and acked, not cut short")
        #expect(started.values == ["d1"], "nothing new was taken while draining")
        #expect(try await broker.messageCount(queue: name) == 2, "the rest waits in the queue")
        // A browse (the dead-letter tools' way in) sees them and leaves them.
        let seen = try await broker.withMessages(queue: name, limit: 10) { $0.map(\.message.messageId) }
        #expect(seen == ["d2", "d3"])
        #expect(try await broker.messageCount(queue: name) == 2)
        let taken = try await broker.withMessages(queue: name, limit: 10) { deliveries -> Int in
            try await deliveries.first?.ack()
            return deliveries.count
        }
        #expect(taken == 2)
        #expect(try await broker.messageCount(queue: name) == 1, "only what was acked is gone")
        await cleanUp(broker, topology)
    }

    @Test func publishWithConfirmThenConsumeKeepsPropertiesAndHeaders() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.roundtrip")
        let exchange = uniqueName("test.ex")
        let topology = BrokerTopology.workQueue(name: name, exchange: exchange, routingKeys: ["media.uploaded.*"], retryDelays: [])
        try await broker.declare(topology)
        let sent = OutgoingMessage(
            exchange: exchange, routingKey: "media.uploaded.image", body: Array(#"{"media_id":"42"}"#.utf8),
            messageId: UUID().uuidString, type: "media.uploaded",
            headers: ["traceparent": "00-abc-def-01", "x-attempt": "1"])
        try await broker.publish(sent)
        try await broker.publish(message(exchange: exchange, routingKey: "media.other", id: "unrouted"))

        let received = Recorder<Delivery>()
        let consumer = Task {
            try await broker.consume(queue: name, prefetch: 10) { delivery in
                received.append(delivery)
                try? await delivery.ack()
            }
        }
        #expect(await eventually { received.count >= 1 })
        try await Task.sleep(for: .milliseconds(300))
        consumer.cancel()
        try await consumer.value

        #expect(received.count == 1)
        let got = try #require(received.values.first).message
        #expect(got.queue == name)
        #expect(got.exchange == exchange)
        #expect(got.routingKey == "media.uploaded.image")
        #expect(got.body == sent.body)
        #expect(got.messageId == sent.messageId)
        #expect(got.type == "media.uploaded")
        #expect(got.headers == sent.headers)
        #expect(got.redelivered == false)
        await cleanUp(broker, topology)
    }

    @Test func unackedDeliveryIsRedeliveredAfterConsumerCancellation() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.redeliver")
        let topology = BrokerTopology(queues: [.init(name: name)])
        try await broker.declare(topology)
        try await broker.publish(message(exchange: "", routingKey: name, id: "m1"))

        let first = Recorder<Delivery>()
        let consumer1 = Task { try await broker.consume(queue: name, prefetch: 1) { first.append($0) } }
        #expect(await eventually { first.count == 1 })
        #expect(first.values.first?.message.redelivered == false)
        consumer1.cancel()
        try await consumer1.value
        await #expect(throws: MessagingError.deliveryNotSettleable) { try await first.values[0].ack() }

        let second = Recorder<Delivery>()
        let consumer2 = Task {
            try await broker.consume(queue: name, prefetch: 1) { delivery in
                second.append(delivery)
                try? await delivery.ack()
            }
        }
        #expect(await eventually { second.count == 1 })
        #expect(second.values.first?.message.messageId == "m1")
        #expect(second.values.first?.message.redelivered == true)
        consumer2.cancel()
        try await consumer2.value
        await cleanUp(broker, topology)
    }

    @Test func retriedMessageComesBackWithAttemptTwo() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.retry")
        let exchange = uniqueName("test.ex")
        let policy = RetryPolicy.exponential(delays: [.milliseconds(200)])
        let topology = BrokerTopology.workQueue(name: name, exchange: exchange, routingKeys: ["k"], retryPolicy: policy)
        try await broker.declare(topology)
        let attempts = Recorder<(Int, Date)>()
        let consumer = RetryingConsumer(
            broker: broker, queue: name, policy: policy, logger: logger,
            handler: { _, attempt in
                attempts.append((attempt, Date()))
                return attempt == 1 ? .retry(reason: "transient") : .ack
            },
            onDeadLetter: { _, _ in Issue.record("must not dead-letter") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: exchange, routingKey: "k", id: "m1", headers: ["h": "v"]))
        #expect(await eventually(timeout: .seconds(10)) { attempts.count == 2 })
        #expect(attempts.values.map(\.0) == [1, 2])
        if attempts.count == 2 {
            let waited = attempts.values[1].1.timeIntervalSince(attempts.values[0].1)
            #expect(waited >= 0.19, "the retry tier held the message for its TTL")
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(attempts.count == 2)
        task.cancel()
        try await task.value
        await cleanUp(broker, topology)
    }

    @Test func exhaustedMessageEndsInDeadQueue() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.dead")
        let exchange = uniqueName("test.ex")
        let policy = RetryPolicy.exponential(delays: [.milliseconds(100), .milliseconds(100)])
        let topology = BrokerTopology.workQueue(name: name, exchange: exchange, routingKeys: ["k.#"], retryPolicy: policy)
        try await broker.declare(topology)
        let attempts = Recorder<Int>()
        let deadLettered = Recorder<String>()
        let consumer = RetryingConsumer(
            broker: broker, queue: name, policy: policy, logger: logger,
            handler: { _, attempt in
                attempts.append(attempt)
                return .retry(reason: "still failing")
            },
            onDeadLetter: { message, _ in deadLettered.append(message.messageId) })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: exchange, routingKey: "k.x", id: "m1"))
        #expect(await eventually(timeout: .seconds(10)) { deadLettered.count == 1 })
        task.cancel()
        try await task.value
        #expect(attempts.values == [1, 2, 3])
        #expect(deadLettered.values == ["m1"])

        let dead = Recorder<IncomingMessage>()
        let deadConsumer = Task {
            try await broker.consume(queue: "\(name).dead", prefetch: 5) { delivery in
                dead.append(delivery.message)
                try? await delivery.ack()
            }
        }
        #expect(await eventually { dead.count == 1 })
        deadConsumer.cancel()
        try await deadConsumer.value
        let parked = try #require(dead.values.first)
        #expect(parked.messageId == "m1")
        #expect(parked.headers[MessageHeaders.originalExchange] == exchange)
        #expect(parked.headers[MessageHeaders.originalRoutingKey] == "k.x")
        #expect(parked.headers[MessageHeaders.originalQueue] == name)
        #expect(parked.headers[MessageHeaders.failureMessage]?.contains("still failing") == true)
        #expect(parked.headers[MessageHeaders.failureCode] == HandlingFailure.transient)
        #expect(parked.headers[MessageHeaders.firstFailedAt] != nil)
        await cleanUp(broker, topology)
    }

    @Test(.enabled(if: rabbitmqCtl != nil, "set MEDIA_TEST_RABBITMQ_CTL (a command taking rabbitmq-stop/rabbitmq-start) to test reconnects"))
    func consumerSurvivesBrokerRestart() async throws {
        let broker = try makeBroker()
        let name = uniqueName("test.restart")
        let topology = BrokerTopology(queues: [.init(name: name)])
        try await broker.declare(topology)
        let received = Recorder<String>()
        let consumer = Task {
            try await broker.consume(queue: name, prefetch: 1) { delivery in
                received.append(delivery.message.messageId)
                try? await delivery.ack()
            }
        }
        try await broker.publish(message(exchange: "", routingKey: name, id: "before"))
        #expect(await eventually { received.values == ["before"] })

        // The broker alone: a whole-instance restart would also restart the S3 server, whose keys then change.
        try await runControl("rabbitmq-stop")
        try await Task.sleep(for: .seconds(1))
        try await runControl("rabbitmq-start")

        // The publisher learns about the restart on its next use: retry like an outbox relay would.
        var published = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !published, ContinuousClock.now < deadline {
            do {
                try await broker.publish(message(exchange: "", routingKey: name, id: "after"))
                published = true
            } catch {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(published)
        #expect(await eventually(timeout: .seconds(20)) { received.values.contains("after") })
        consumer.cancel()
        try await consumer.value
        await cleanUp(broker, topology)
    }

    private func runControl(_ action: String) async throws {
        let command = "\(rabbitmqCtl ?? "false") \(action)"
        let status = await runShell(command)
        #expect(status == 0, "\(command) failed")
    }
}
