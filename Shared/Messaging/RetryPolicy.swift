/// How often and after which delays a failing message is retried before it is dead-lettered.
public struct RetryPolicy: Sendable, Equatable {
    /// Delay before retry 1, 2, …; one retry tier queue per delay.
    public var delays: [Duration]
    /// How long to wait before requeueing a delivery whose retry/dead-letter publish failed
    /// (the broker is in trouble; requeueing at once would spin).
    public var requeueDelay: Duration

    /// First attempt plus one per retry tier.
    public var maxAttempts: Int { delays.count + 1 }

    public init(delays: [Duration], requeueDelay: Duration = .seconds(1)) {
        self.delays = delays
        self.requeueDelay = requeueDelay
    }

    /// Retries after each of `delays` (growing, e.g. `[.seconds(1), .seconds(5), .seconds(30)]`).
    public static func exponential(delays: [Duration], requeueDelay: Duration = .seconds(1)) -> RetryPolicy {
        RetryPolicy(delays: delays, requeueDelay: requeueDelay)
    }

    /// `retries` delays starting at `initial`, each `factor` times the previous one.
    public static func exponential(initial: Duration, factor: Int = 5, retries: Int) -> RetryPolicy {
        var delays: [Duration] = []
        var delay = initial
        for _ in 0..<max(retries, 0) {
            delays.append(delay)
            delay *= factor
        }
        return RetryPolicy(delays: delays)
    }

    /// 1 s, 5 s, 30 s: four attempts in all.
    public static var `default`: RetryPolicy { .exponential(delays: [.seconds(1), .seconds(5), .seconds(30)]) }

    /// No retries: a failing message is dead-lettered at once.
    public static var noRetry: RetryPolicy { RetryPolicy(delays: []) }
}
