extension BrokerTopology {
    /// A work queue with retry tiers and a dead-letter queue.
    ///
    /// - queue `name`, bound to `exchange` (a durable topic exchange, declared too) with each routing key;
    /// - `name.retry.1…n`: one per delay, `x-message-ttl` = the delay, dead-lettering through the default
    ///   exchange back to `name` when the TTL expires (one TTL per queue, so expiry order is FIFO);
    /// - `name.dead`: where `RetryingConsumer` parks messages that exhausted their attempts.
    public static func workQueue(
        name: String, exchange: String, routingKeys: [String], retryDelays: [Duration]
    ) -> BrokerTopology {
        var queues = [Queue(name: name)]
        for (index, delay) in retryDelays.enumerated() {
            queues.append(Queue(name: retryQueueName(name, tier: index + 1), arguments: [
                "x-message-ttl": .int(delay.wholeMilliseconds),
                "x-dead-letter-exchange": .string(""),
                "x-dead-letter-routing-key": .string(name),
            ]))
        }
        queues.append(Queue(name: deadLetterQueueName(name)))
        return BrokerTopology(
            exchanges: [Exchange(name: exchange, type: "topic")],
            queues: queues,
            bindings: routingKeys.map { Binding(queue: name, exchange: exchange, routingKey: $0) })
    }

    /// `workQueue(name:exchange:routingKeys:retryDelays:)` with the delays of `retryPolicy`.
    public static func workQueue(
        name: String, exchange: String, routingKeys: [String], retryPolicy: RetryPolicy
    ) -> BrokerTopology {
        workQueue(name: name, exchange: exchange, routingKeys: routingKeys, retryDelays: retryPolicy.delays)
    }

    /// The queue holding messages of `queue` that wait for retry number `tier` (1-based).
    public static func retryQueueName(_ queue: String, tier: Int) -> String { "\(queue).retry.\(tier)" }

    /// The queue holding messages of `queue` that exhausted their attempts.
    public static func deadLetterQueueName(_ queue: String) -> String { "\(queue).dead" }

    /// Both topologies' declarations (duplicates removed).
    public func merging(_ other: BrokerTopology) -> BrokerTopology {
        var merged = self
        for exchange in other.exchanges where !merged.exchanges.contains(exchange) { merged.exchanges.append(exchange) }
        for queue in other.queues where !merged.queues.contains(queue) { merged.queues.append(queue) }
        for binding in other.bindings where !merged.bindings.contains(binding) { merged.bindings.append(binding) }
        return merged
    }
}

extension Duration {
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
