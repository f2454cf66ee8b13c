import Logging

/// Consumes a work queue with retry tiers and dead-lettering (see `BrokerTopology.workQueue`).
///
/// For each delivery the handler gets the message and its attempt number (header `x-attempt`, 1 when
/// absent):
/// - `.ack` → ack;
/// - `.retry` → a copy goes to `<queue>.retry.<attempt>` (default exchange, `x-attempt` + 1, confirmed),
///   then ack; the tier's TTL sends it back to the work queue later;
/// - attempts exhausted or `.deadLetter` → a copy goes to `<queue>.dead` (with `x-dead-reason`), then
///   `onDeadLetter` runs (e.g. publish `media.failed`), then ack.
/// If a publish or `onDeadLetter` fails, the delivery is rejected with requeue so nothing is lost.
/// Copies keep `x-original-exchange` / `x-original-routing-key` so a replay tool can put them back.
public struct RetryingConsumer: Sendable {
    public typealias Handler = @Sendable (_ message: IncomingMessage, _ attempt: Int) async -> HandlingOutcome
    public typealias DeadLetterHandler = @Sendable (_ message: IncomingMessage, _ reason: String) async throws -> Void

    public let broker: any MessageBroker
    public let queue: String
    public let prefetch: Int
    public let policy: RetryPolicy
    private let logger: Logger
    private let handler: Handler
    private let onDeadLetter: DeadLetterHandler

    public init(
        broker: any MessageBroker,
        queue: String,
        prefetch: Int = 4,
        policy: RetryPolicy = .default,
        logger: Logger,
        handler: @escaping Handler,
        onDeadLetter: @escaping DeadLetterHandler
    ) {
        self.broker = broker
        self.queue = queue
        self.prefetch = prefetch
        self.policy = policy
        self.logger = logger
        self.handler = handler
        self.onDeadLetter = onDeadLetter
    }

    /// Consumes until the calling task is cancelled.
    public func run() async throws {
        try await broker.consume(queue: queue, prefetch: prefetch) { delivery in
            await process(delivery)
        }
    }

    /// The attempt number carried by `message` (1 when the header is absent or malformed).
    public static func attempt(of message: IncomingMessage) -> Int {
        guard let value = message.headers[MessageHeaders.attempt], let attempt = Int(value), attempt >= 1 else {
            return 1
        }
        return attempt
    }

    func process(_ delivery: Delivery) async {
        let message = delivery.message
        let attempt = Self.attempt(of: message)
        var logger = logger
        logger[metadataKey: "queue"] = "\(queue)"
        logger[metadataKey: "message_id"] = "\(message.messageId)"
        logger[metadataKey: "attempt"] = "\(attempt)"

        let outcome = await handler(message, attempt)
        do {
            switch outcome {
            case .ack:
                break
            case .retry(let reason) where attempt < policy.maxAttempts:
                logger[metadataKey: "reason"] = "\(reason)"
                let tier = BrokerTopology.retryQueueName(queue, tier: attempt)
                logger.notice("retrying message", metadata: ["retry_queue": "\(tier)"])
                try await broker.publish(copy(of: message, to: tier, headers: [MessageHeaders.attempt: "\(attempt + 1)"]))
            case .retry(let reason):
                try await deadLetter(message, reason: "attempts exhausted (\(attempt)): \(reason)", logger: logger)
            case .deadLetter(let reason):
                try await deadLetter(message, reason: reason, logger: logger)
            }
        } catch {
            logger.error("cannot retry or dead-letter message; requeueing it", metadata: ["error": "\(error)"])
            if policy.requeueDelay > .zero {
                // Not cancellable on purpose: the delivery must still be settled (or left to the broker).
                try? await Task.sleep(for: policy.requeueDelay)
            }
            do {
                try await delivery.reject(requeue: true)
            } catch {
                logger.warning("cannot requeue message; the broker redelivers it", metadata: ["error": "\(error)"])
            }
            return
        }
        do {
            try await delivery.ack()
        } catch {
            // The connection is gone: the broker redelivers the message (handlers are idempotent).
            logger.warning("cannot ack message; the broker redelivers it", metadata: ["error": "\(error)"])
        }
    }

    private func deadLetter(_ message: IncomingMessage, reason: String, logger: Logger) async throws {
        var logger = logger
        logger[metadataKey: "reason"] = "\(reason)"
        let deadQueue = BrokerTopology.deadLetterQueueName(queue)
        logger.error("dead-lettering message", metadata: ["dead_queue": "\(deadQueue)"])
        try await broker.publish(copy(of: message, to: deadQueue, headers: [
            MessageHeaders.deadReason: reason,
            MessageHeaders.originalQueue: queue,
        ]))
        try await onDeadLetter(message, reason)
    }

    /// A copy for the default exchange (routing key = queue), keeping where the message first came from.
    private func copy(of message: IncomingMessage, to targetQueue: String, headers extra: [String: String])
        -> OutgoingMessage
    {
        var headers = message.headers
        if headers[MessageHeaders.originalExchange] == nil {
            headers[MessageHeaders.originalExchange] = message.exchange
            headers[MessageHeaders.originalRoutingKey] = message.routingKey
        }
        headers.merge(extra) { _, new in new }
        return OutgoingMessage(
            exchange: "", routingKey: targetQueue, body: message.body, messageId: message.messageId,
            type: message.type, headers: headers)
    }
}
