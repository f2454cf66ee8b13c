import Logging
import Messaging
import Metrics
import Persistence
import ServiceLifecycle

/// Records every message parked in a dead queue in PostgreSQL (`DeadLetterStore`), then acknowledges it: the dead
/// queue holds a letter only until it is recorded (issue 27, defect 6). Runs in every Janitor; two recording the same
/// message (a redelivery) make one record. While PostgreSQL is down the letters wait on their queue.
public struct DeadLetterRecorder: Service {
    let broker: any MessageBroker
    let store: any DeadLetterStore
    let logger: Logger

    public init(broker: any MessageBroker, store: any DeadLetterStore, logger: Logger) {
        self.broker = broker
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await broker.declareWhenReachable(BrokerTopology(queues: DeadLetters.queues.map { .init(name: $0) }), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for queue in DeadLetters.queues {
                    group.addTask { try await record(queue) }
                }
                try await group.waitForAll()
            }
        }
    }

    private func record(_ queue: String) async throws {
        try await broker.consume(queue: queue, prefetch: 32, drain: nil) { delivery in
            let parked = DeadLetters.parked(from: delivery.message, queue: queue)
            do {
                try await store.park(parked)
                try await delivery.ack()
                Counter(label: "mediaflow_dead_letters_recorded_total", dimensions: [("queue", queue)]).increment()
                logger.info("dead letter recorded", metadata: [
                    "queue": "\(queue)", "event_id": "\(parked.letter.eventId)", "code": "\(parked.letter.code)",
                ])
            } catch {
                logger.warning("dead letter not recorded; it stays on its queue", metadata: [
                    "queue": "\(queue)", "event_id": "\(parked.letter.eventId)", "error": "\(DatabaseFailure.describe(error))",
                ])
                try? await Task.sleep(for: .seconds(1))
                try? await delivery.reject(requeue: true)
            }
        }
    }
}
