/// How queues are declared (`MEDIA_AMQP_QUEUE_TYPE`, SPEC §9).
///
/// `.classic` (the default) is a queue on one node. `.quorum` replicates every queue (work, retry tiers, dead, status)
/// over the cluster with Raft, so losing one node of three loses no message; queues that dead-letter (the retry tiers,
/// whose expired messages go back to their work queue) do it at-least-once, which needs `x-overflow: reject-publish`.
/// A queue cannot change type in place: switch on a fresh broker, or delete the queues first.
public enum QueueType: String, Sendable, CaseIterable {
    case classic
    case quorum

    /// `topology` with every queue's arguments set for this type.
    func applied(to topology: BrokerTopology) -> BrokerTopology {
        guard self == .quorum else { return topology }
        var result = topology
        result.queues = topology.queues.map { queue in
            var queue = queue
            queue.arguments["x-queue-type"] = .string("quorum")
            if queue.arguments["x-dead-letter-exchange"] != nil {
                queue.arguments["x-dead-letter-strategy"] = .string("at-least-once")
                queue.arguments["x-overflow"] = .string("reject-publish")
            }
            return queue
        }
        return result
    }
}
