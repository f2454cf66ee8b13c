/// Header names the messaging layer reads and writes.
public enum MessageHeaders {
    /// Which attempt this delivery is (1 when absent); set by `RetryingConsumer` on retry copies.
    public static let attempt = "x-attempt"
    /// Why a message was dead-lettered (on copies in `<queue>.dead`).
    public static let deadReason = "x-dead-reason"
    /// The exchange the message was first published to (kept across retries, for replay).
    public static let originalExchange = "x-original-exchange"
    /// The routing key the message was first published with (kept across retries, for replay).
    public static let originalRoutingKey = "x-original-routing-key"
    /// The work queue that gave up on the message (on copies in `<queue>.dead`).
    public static let originalQueue = "x-original-queue"
}
