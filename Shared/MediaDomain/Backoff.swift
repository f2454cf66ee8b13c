/// The growing wait between attempts to reach a server again (RabbitMQ, a PostgreSQL listener, the broker's topology),
/// one implementation for every reconnect loop: 100 ms, doubling up to 5 s, back to the start once connected.
public struct Backoff: Sendable {
    public let initial: Duration
    public let cap: Duration
    private var current: Duration

    public init(initial: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.initial = initial
        self.cap = cap
        self.current = initial
    }

    /// The wait before the next attempt (and the one after it grows).
    public mutating func next() -> Duration {
        let delay = current
        current = min(current * 2, cap)
        return delay
    }

    /// Connected: the next loss starts from the initial wait again.
    public mutating func reset() { current = initial }
}
