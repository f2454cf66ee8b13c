import Logging
import MediaDomain
import Messaging
import ServiceKit

/// Which media types' work queues hold no message right now: a media whose job runs nowhere and is in no queue lost
/// its message (`StuckRule`). A seam, so the tasks can be tested without a broker.
public protocol WorkQueueProbe: Sendable {
    /// The types whose work queue and retry queues are all empty. A queue that cannot be asked counts as not idle:
    /// nothing is judged lost on a guess.
    func idleTypes() async -> Set<FileType>
}

/// Asks the broker for the message count of each processor's queue and its retry tiers.
public struct BrokerWorkQueueProbe: WorkQueueProbe {
    let broker: any MessageBroker
    let retryPolicy: RetryPolicy
    let logger: Logger

    public init(broker: any MessageBroker, retryPolicy: RetryPolicy = .default, logger: Logger) {
        self.broker = broker
        self.retryPolicy = retryPolicy
        self.logger = logger
    }

    public func idleTypes() async -> Set<FileType> {
        var idle: Set<FileType> = []
        for type in FileType.allCases {
            let queue = MediaEvents.processorQueue(type)
            let names = [queue] + retryPolicy.delays.indices.map { BrokerTopology.retryQueueName(queue, tier: $0 + 1) }
            do {
                var total = 0
                for name in names { total += try await broker.messageCount(queue: name) }
                if total == 0 { idle.insert(type) }
            } catch {
                logger.warning("stuck_processing: a work queue could not be asked; its media are not judged lost now",
                               metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
        }
        return idle
    }
}

/// Every type idle, or none: for tests and tools without a broker.
public struct FixedWorkQueueProbe: WorkQueueProbe {
    public var idle: Set<FileType>
    public init(idle: Set<FileType>) { self.idle = idle }
    public func idleTypes() async -> Set<FileType> { idle }
}
