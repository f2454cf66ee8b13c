/// Header names the messaging layer reads and writes.
public enum MessageHeaders {
    /// Which attempt this delivery is (1 when absent); set by `RetryingConsumer` on retry copies.
    public static let attempt = "x-attempt"
    /// The exchange the message was first published to (kept across retries, for replay).
    public static let originalExchange = "x-original-exchange"
    /// The routing key the message was first published with (kept across retries, for replay).
    public static let originalRoutingKey = "x-original-routing-key"
    /// The work queue that gave up on the message (on copies in `<queue>.dead`).
    public static let originalQueue = "x-original-queue"

    // Dead copies (SPEC §6): why and when the message failed, and how often it was replayed.
    /// The last failure's code (`HandlingFailure.code`).
    public static let failureCode = "x-failure-code"
    /// The last failure's sentence.
    public static let failureMessage = "x-failure-message"
    /// Attempts made before the message was parked.
    public static let attempts = "x-attempts"
    /// When the first attempt of this delivery cycle failed (ISO 8601, UTC); kept across retries.
    public static let firstFailedAt = "x-first-failed-at"
    /// How many times the message was replayed from a dead queue (0 before the first replay).
    public static let replays = "x-replays"

    /// Headers that describe one failure cycle; a replay starts the message afresh without them.
    public static let failureCycle = [
        attempt, failureCode, failureMessage, attempts, firstFailedAt, originalQueue, "x-dead-reason",
    ]
}
