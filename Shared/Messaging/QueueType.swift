/// How queues are declared (`MEDIA_AMQP_QUEUE_TYPE`, SPEC §9).
///
/// `.classic` (the default) is a queue on one node. `.quorum` replicates every queue (work, retry tiers, dead, status)
/// over the cluster with Raft, so losing one node of three loses no message; queues that dead-letter (the retry tiers,
/// whose expired messages go back to their work queue) do it at-least-once, which needs `x-overflow: reject-publish`.
/// A work queue (one with a `.dead` sibling) also gets `x-delivery-limit`: a message the broker has handed out that
/// many times without an acknowledgement (its consumer's process died with it each time, before the job ledger could
/// record the start) is dead-lettered to that sibling instead of redelivered forever. This is the broker's half of the
/// crash rule (`MEDIA_MAX_CRASHES`, issue 27 defect 0b); the limit sits above the ledger's, which fails the media
/// with `processing_crashed` first whenever it can.
///
/// A queue cannot change type or arguments in place: switch on a fresh broker, or delete the queues first.
public enum QueueType: String, Sendable, CaseIterable {
    case classic
    case quorum

    /// Deliveries of one message a quorum work queue allows before it dead-letters it (drain requeues count too).
    public static let deliveryLimit: Int64 = 10

    /// `topology` with every queue's arguments set for this type.
    func applied(to topology: BrokerTopology) -> BrokerTopology {
        guard self == .quorum else { return topology }
        var result = topology
        let names = Set(topology.queues.map(\.name))
        result.queues = topology.queues.map { queue in
            var queue = queue
            queue.arguments["x-queue-type"] = .string("quorum")
            let dead = BrokerTopology.deadLetterQueueName(queue.name)
            if names.contains(dead), queue.arguments["x-dead-letter-exchange"] == nil {
                queue.arguments["x-delivery-limit"] = .int(Self.deliveryLimit)
                queue.arguments["x-dead-letter-exchange"] = .string("")
                queue.arguments["x-dead-letter-routing-key"] = .string(dead)
            }
            if queue.arguments["x-dead-letter-exchange"] != nil {
                queue.arguments["x-dead-letter-strategy"] = .string("at-least-once")
                queue.arguments["x-overflow"] = .string("reject-publish")
            }
            return queue
        }
        return result
    }
}
