import Foundation
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
            onDeadLetter: { message, failure in deadLettered.append("\(message.messageId): \(failure.message)") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))

        #expect(await eventually { await broker.messages(in: "\(queue).dead").count == 1 })
        #expect(await eventually { await broker.unsettledCount(in: queue) == 0 })
        #expect(attempts.values == [1, 2, 3])
        #expect(deadLettered.count == 1)
        #expect(deadLettered.values.first?.hasPrefix("m1: attempts exhausted (3)") == true)
        let dead = try #require(await broker.messages(in: "\(queue).dead").first)
        #expect(dead.messageId == "m1")
        #expect(dead.headers[MessageHeaders.failureMessage]?.contains("still broken") == true)
        #expect(dead.headers[MessageHeaders.failureCode] == HandlingFailure.transient)
        #expect(dead.headers[MessageHeaders.attempts] == "3")
        #expect(dead.headers[MessageHeaders.replays] == "0")
        let firstFailed = try #require(dead.headers[MessageHeaders.firstFailedAt])
        #expect(abs(try Date(firstFailed, strategy: .iso8601).timeIntervalSinceNow) < 60, "\(firstFailed)")
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
            handler: { _, _ in .deadLetter(reason: "unsupported format", code: "unsupported_format") },
            onDeadLetter: { _, failure in deadLettered.append(failure.message) })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))
        #expect(await eventually { deadLettered.count == 1 })
        #expect(deadLettered.values == ["unsupported format"])
        #expect(await broker.messages(in: "\(queue).dead").first?.headers[MessageHeaders.failureCode] == "unsupported_format")
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

    @Test func requeuePutsTheMessageBackUnchangedWithoutSpendingAnAttempt() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(20)])
        let seen = Recorder<(attempt: Int, redelivered: Bool)>()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, policy: .exponential(delays: [.milliseconds(20)]), logger: logger,
            handler: { message, attempt in
                seen.append((attempt, message.redelivered))
                return message.redelivered ? .ack : .requeue
            },
            onDeadLetter: { _, _ in Issue.record("must not dead-letter") })
        let task = Task { try await consumer.run() }
        try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: "m1"))
        #expect(await eventually { seen.count == 2 })
        #expect(seen.values.map(\.attempt) == [1, 1], "no attempt spent")
        #expect(seen.values.map(\.redelivered) == [false, true])
        #expect(await broker.publishedMessages.filter { $0.routingKey.contains(".retry.") }.isEmpty, "no retry copy")
        task.cancel()
        try await task.value
    }

    @Test func drainStopsTakingAndLetsRunningHandlersFinish() async throws {
        let broker = try await makeBroker(delays: [.milliseconds(20)])
        let started = Recorder<String>()
        let finished = Recorder<String>()
        let drain = DrainSignal()
        let consumer = RetryingConsumer(
            broker: broker, queue: queue, prefetch: 1, policy: .exponential(delays: [.milliseconds(20)]), logger: logger,
            handler: { message, _ in
                started.append(message.messageId)
                try? await Task.sleep(for: .milliseconds(300))  // a job in hand while the drain begins
                finished.append(message.messageId)
                return .ack
            },
            onDeadLetter: { _, _ in })
        let task = Task { try await consumer.run(drain: drain) }
        for id in ["m1", "m2"] {
            try await broker.publish(message(exchange: "media.events", routingKey: "media.uploaded.image", id: id))
        }
        #expect(await eventually { started.count == 1 })
        drain.fire()
        try await task.value  // returns once the job in hand finished
        #expect(finished.values == ["m1"], "the running handler finished, not cancelled")
        #expect(started.values == ["m1"], "nothing new was taken")
        #expect(await broker.messages(in: queue).map(\.messageId) == ["m2"], "the rest waits for another consumer")
        #expect(await broker.unsettledCount(in: queue) == 0)
    }
}
