import Foundation
import GatewayKit
import Logging
import MediaDomain
import Messaging
import Metrics
import Persistence
import ServiceCore
import ServiceKit
import ServiceLifecycle
import Tracing

/// Folds `media.ready` / `media.failed` / `media.progress` from `gateway.status` into the media rows.
///
/// The fold is one transaction per event that also records the event id, so a redelivered event changes
/// nothing; events of an older generation or of deleted media are acknowledged and dropped. A database
/// outage is transient: the message is retried with growing delay and dead-lettered only after the
/// retry policy is exhausted.
public struct StatusConsumer: Service {
    static let consumerName = "gateway.status"
    let broker: any MessageBroker
    let repository: any MediaRepository
    let retryPolicy: RetryPolicy
    let logger: Logger
    let prefetch: Int
    /// Made once: a metrics lookup per event would sit on the fold's hot path.
    let folded: [FoldResult: Counter] = Dictionary(uniqueKeysWithValues: [FoldResult.applied, .duplicate, .ignored].map {
        ($0, Counter(label: "mediaflow_status_events_total", dimensions: [("result", "\($0)")]))
    })

    public init(broker: any MessageBroker, repository: any MediaRepository, retryPolicy: RetryPolicy = .default,
                prefetch: Int = 32, logger: Logger) {
        self.broker = broker
        self.repository = repository
        self.retryPolicy = retryPolicy
        self.prefetch = prefetch
        self.logger = logger
    }

    public func run() async throws {
        // Until the broker answers, a shutdown has nothing to drain: stop waiting at once.
        try await cancelWhenGracefulShutdown {
            try await broker.declareWhenReachable(MediaTopology.all(), logger: logger)
        }
        guard !Task.isShuttingDownGracefully else { return }
        let consumer = RetryingConsumer(
            broker: broker, queue: MediaEvents.statusQueue, prefetch: prefetch, policy: retryPolicy, logger: logger,
            handler: { message, _ in await handle(message) },
            onDeadLetter: { [logger] message, failure in
                logger.error("status event dead-lettered", metadata: [
                    "event_id": "\(message.messageId)", "type": "\(message.type)", "code": "\(failure.code)",
                    "reason": "\(failure.message)",
                ])
            })
        // On shutdown the folds in hand finish (they are short), then the consumer stops; nothing is cut mid-fold.
        let drain = DrainSignal()
        try await withGracefulShutdownHandler {
            try await consumer.run(drain: drain)
        } onGracefulShutdown: {
            drain.fire()
        }
    }

    /// Decodes and folds one event; exposed for tests.
    func handle(_ message: IncomingMessage) async -> HandlingOutcome {
        var logger = self.logger
        logger[metadataKey: "event_id"] = "\(message.messageId)"
        let trace = message.headers[TraceParent.headerName].flatMap(TraceParent.init(header:))
        if let trace { logger[metadataKey: "trace_id"] = "\(trace.traceId)" }
        // The last hop of an upload's trace: the fold runs in a span continuing the outcome event's.
        return await TraceSpan.run("fold \(message.type)", kind: .consumer, continuing: trace) { _, span in
            let outcome = await fold(message, logger: logger)
            if case .retry(let failure) = outcome { span.setStatus(SpanStatus(code: .error, message: failure.message)) }
            if case .deadLetter(let failure) = outcome { span.setStatus(SpanStatus(code: .error, message: failure.message)) }
            return outcome
        }
    }

    private func fold(_ message: IncomingMessage, logger: Logger) async -> HandlingOutcome {
        var logger = logger
        let outcome: MediaOutcome
        do {
            outcome = try Self.decode(message)
        } catch {
            logger.error("status event cannot be decoded", metadata: ["type": "\(message.type)", "error": "\(error)"])
            return .deadLetter(reason: "undecodable \(message.type): \(error)", code: "undecodable_event")
        }
        logger[metadataKey: "media_id"] = "\(outcome.mediaId)"
        do {
            let result = try await repository.apply(outcome, consumer: Self.consumerName)
            folded[result]?.increment()
            switch result {
            case .applied:
                // Ready and failed are the ends of an upload's path (its trace's last hop): logged; progress is not.
                if message.type == MediaEvents.progress {
                    logger.debug("status event folded", metadata: ["type": "\(message.type)"])
                } else {
                    logger.info("status event folded", metadata: ["type": "\(message.type)"])
                }
            case .duplicate: logger.info("duplicate status event ignored", metadata: ["type": "\(message.type)"])
            case .ignored: logger.info("stale status event ignored (older generation or deleted media)", metadata: ["type": "\(message.type)"])
            }
            return .ack
        } catch {
            let reason = "database: \(DatabaseFailure.describe(error))"
            logger.warning("status event not folded; will retry", metadata: ["error": "\(reason)"])
            return .retry(reason: reason, code: DatabaseFailure.isUnavailable(error) ? "database_unavailable" : "fold_failed")
        }
    }

    static func decode(_ message: IncomingMessage) throws -> MediaOutcome {
        let decoder = EventCoding.decoder()
        let data = Data(message.body)
        let type = message.type.isEmpty ? message.routingKey : message.type
        switch type {
        case MediaEvents.ready: return .ready(try decoder.decode(MediaReady.self, from: data))
        case MediaEvents.failed: return .failed(try decoder.decode(MediaFailed.self, from: data))
        case MediaEvents.progress: return .progress(try decoder.decode(MediaProgress.self, from: data))
        default: throw UnexpectedEvent(type: type)
        }
    }
}

struct UnexpectedEvent: Error, CustomStringConvertible {
    var type: String
    var description: String { "unexpected event type '\(type)' on \(MediaEvents.statusQueue)" }
}
