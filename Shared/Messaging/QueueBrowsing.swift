import Synchronization

extension MessageBroker {
    /// Takes up to `limit` of the messages waiting in `queue` without removing them, and hands them to `body`, which
    /// settles the ones it is done with (`ack()` removes one for good). Whatever `body` leaves unsettled goes back to
    /// the queue when it returns, as when a consumer's channel closes. For tools that look into a parked queue (the
    /// dead-letter list and replay); not for work queues.
    ///
    /// Takes what the queue held when called (`messageCount`), waiting at most `timeout` for it to arrive. Another
    /// reader of the same queue at the same time sees only what this one does not hold.
    public func withMessages<T: Sendable>(
        queue: String, limit: Int, timeout: Duration = .seconds(10),
        _ body: @Sendable ([Delivery]) async throws -> T
    ) async throws -> T {
        let wanted = min(try await messageCount(queue: queue), max(0, limit))
        guard wanted > 0 else { return try await body([]) }
        let held = HeldDeliveries(wanted: wanted)
        let drain = DrainSignal()
        // The consumer's handlers return at once and leave their deliveries unsettled; prefetch bounds them.
        let consumer = Task {
            do {
                try await consume(queue: queue, prefetch: min(wanted, Int(UInt16.max)), drain: drain) { delivery in
                    held.add(delivery)
                }
            } catch {
                held.fail(error)  // wakes the wait: a consumer that cannot consume must not look like an empty queue
                throw error
            }
        }
        // In queue order: handlers run concurrently, so they may have been held in another order.
        let deliveries = await held.wait(timeout: timeout).sorted { $0.deliveryTag < $1.deliveryTag }
        if deliveries.count < wanted, let failure = held.failure {
            consumer.cancel()
            throw failure
        }
        do {
            let result = try await body(deliveries)
            drain.fire()
            consumer.cancel()
            _ = try? await consumer.value
            return result
        } catch {
            drain.fire()
            consumer.cancel()
            _ = try? await consumer.value
            throw error
        }
    }
}

/// Deliveries arriving for `withMessages`, until the wanted number is in hand.
final class HeldDeliveries: Sendable {
    private struct State {
        var deliveries: [Delivery] = []
        var waiter: CheckedContinuation<[Delivery], Never>?
        var done = false
        var failure: (any Error)?
    }

    private let wanted: Int
    private let state = Mutex(State())

    init(wanted: Int) { self.wanted = wanted }

    func add(_ delivery: Delivery) {
        let ready = state.withLock { s -> (CheckedContinuation<[Delivery], Never>, [Delivery])? in
            s.deliveries.append(delivery)
            guard s.deliveries.count >= wanted, !s.done, let waiter = s.waiter else { return nil }
            s.done = true
            s.waiter = nil
            return (waiter, s.deliveries)
        }
        if let (waiter, deliveries) = ready { waiter.resume(returning: deliveries) }
    }

    /// Why the consumer stopped before `wanted` arrived, if it did.
    var failure: (any Error)? { state.withLock { $0.failure } }

    func fail(_ error: any Error) {
        state.withLock { $0.failure = error }
        finish()
    }

    /// The deliveries once `wanted` arrived, or what arrived within `timeout` (or before the consumer failed).
    func wait(timeout: Duration) async -> [Delivery] {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.finish()
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let now = state.withLock { s -> [Delivery]? in
                if s.done || s.deliveries.count >= wanted {
                    s.done = true
                    return s.deliveries
                }
                s.waiter = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
    }

    func finish() {
        let ready = state.withLock { s -> (CheckedContinuation<[Delivery], Never>, [Delivery])? in
            guard !s.done else { return nil }
            s.done = true
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, s.deliveries)
        }
        if let (waiter, deliveries) = ready { waiter.resume(returning: deliveries) }
    }
}
