import Foundation
import Logging

/// Consumes a work queue with retry tiers and dead-lettering (see `BrokerTopology.workQueue`).
///
/// For each delivery the handler gets the message and its attempt number (header `x-attempt`, 1 when
/// absent):
/// - `.ack` → ack;
/// - `.retry` → a copy goes to `<queue>.retry.<attempt>` (default exchange, `x-attempt` + 1, confirmed),
///   then ack; the tier's TTL sends it back to the work queue later;
/// - attempts exhausted or `.deadLetter` → a copy goes to `<queue>.dead` with the failure headers of SPEC §6
///   (`x-failure-code`, `x-failure-message`, `x-attempts`, `x-first-failed-at`, `x-replays`, and where it first
///   came from), then `onDeadLetter` runs (e.g. publish `media.failed`), then ack;
/// - `.requeue` → rejected with requeue: back to the queue unchanged, no attempt spent (a draining consumer).
/// If a publish or `onDeadLetter` fails, the delivery is rejected with requeue so nothing is lost.
public struct RetryingConsumer: Sendable {
    public typealias Handler = @Sendable (_ message: IncomingMessage, _ attempt: Int) async -> HandlingOutcome
    public typealias DeadLetterHandler = @Sendable (_ message: IncomingMessage, _ failure: HandlingFailure) async throws -> Void

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

    /// Consumes until the calling task is cancelled, or until `drain` fires: then no new message is taken, the
    /// handlers already running finish (they decide how long: see `ProcessingWorker`), and this returns.
    public func run(drain: DrainSignal? = nil) async throws {
        try await broker.consume(queue: queue, prefetch: prefetch, drain: drain) { delivery in
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
            case .requeue:
                logger.notice("message put back on its queue unfinished (no attempt spent)")
                try await delivery.reject(requeue: true)
                return
            case .retry(let failure) where attempt < policy.maxAttempts:
                logger[metadataKey: "reason"] = "\(failure.message)"
                let tier = BrokerTopology.retryQueueName(queue, tier: attempt)
                logger.notice("retrying message", metadata: ["retry_queue": "\(tier)", "code": "\(failure.code)"])
                var headers = [MessageHeaders.attempt: "\(attempt + 1)"]
                if message.headers[MessageHeaders.firstFailedAt] == nil {
                    headers[MessageHeaders.firstFailedAt] = Self.timestamp()
                }
                try await broker.publish(copy(of: message, to: tier, headers: headers))
            case .retry(let failure):
                let exhausted = HandlingFailure(
                    code: failure.code, message: "attempts exhausted (\(attempt)): \(failure.message)")
                try await deadLetter(message, failure: exhausted, attempts: attempt, logger: logger)
            case .deadLetter(let failure):
                try await deadLetter(message, failure: failure, attempts: attempt, logger: logger)
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

    private func deadLetter(
        _ message: IncomingMessage, failure: HandlingFailure, attempts: Int, logger: Logger
    ) async throws {
        var logger = logger
        logger[metadataKey: "reason"] = "\(failure.message)"
        let deadQueue = BrokerTopology.deadLetterQueueName(queue)
        logger.error("dead-lettering message", metadata: ["dead_queue": "\(deadQueue)", "code": "\(failure.code)"])
        try await broker.publish(copy(of: message, to: deadQueue, headers: [
            MessageHeaders.failureCode: failure.code,
            MessageHeaders.failureMessage: String(failure.message.prefix(1000)),
            MessageHeaders.attempts: "\(attempts)",
            MessageHeaders.firstFailedAt: message.headers[MessageHeaders.firstFailedAt] ?? Self.timestamp(),
            MessageHeaders.replays: message.headers[MessageHeaders.replays] ?? "0",
            MessageHeaders.originalQueue: queue,
        ]))
        try await onDeadLetter(message, failure)
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

    /// Now, as `x-first-failed-at` carries it (ISO 8601, UTC, whole seconds).
    static func timestamp(_ date: Date = Date()) -> String { date.ISO8601Format() }
}
