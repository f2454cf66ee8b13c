import MediaDomain
import Messaging

/// The broker topology of SPEC §3, declared by every service at start-up (declaring is idempotent, so the
/// order services start in does not matter).
public enum MediaTopology {
    public static func all(retryPolicy: RetryPolicy = .default) -> BrokerTopology {
        var topology = BrokerTopology(exchanges: [.init(name: MediaEvents.exchange, type: "topic")])
        for type in FileType.allCases {
            topology = topology.merging(.workQueue(
                name: MediaEvents.processorQueue(type), exchange: MediaEvents.exchange,
                routingKeys: [MediaEvents.uploadedRoutingKey(type)], retryPolicy: retryPolicy))
        }
        return topology.merging(.workQueue(
            name: MediaEvents.statusQueue, exchange: MediaEvents.exchange,
            routingKeys: [MediaEvents.ready, MediaEvents.failed, MediaEvents.progress], retryPolicy: retryPolicy))
            .merging(BrokerTopology(queues: [.init(name: janitorCommands)]))
    }

    /// Where staff and `mediactl` ask the acting Janitor to run a task (`janitor.run`, through the default exchange).
    public static let janitorCommands = "janitor.commands"
}
