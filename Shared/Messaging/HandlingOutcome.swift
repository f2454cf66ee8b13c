/// What a handler decided about one message.
public enum HandlingOutcome: Sendable, Equatable {
    /// Done (or a duplicate): acknowledge.
    case ack
    /// Transient failure (storage or broker hiccup): try again later, dead-letter once attempts are exhausted.
    case retry(HandlingFailure)
    /// Permanent failure (unsupported or corrupt input): dead-letter at once.
    case deadLetter(HandlingFailure)
    /// Not a failure: the work was put down unfinished (the process is draining) and goes back to the queue as it
    /// came, without spending an attempt, for this or another consumer to take again.
    case requeue

    /// A transient failure with a stable `code` (dead copies carry it as `x-failure-code`, and replays select by it).
    public static func retry(reason: String, code: String = HandlingFailure.transient) -> HandlingOutcome {
        .retry(HandlingFailure(code: code, message: reason))
    }

    /// A permanent failure with a stable `code`.
    public static func deadLetter(reason: String, code: String = HandlingFailure.unprocessable) -> HandlingOutcome {
        .deadLetter(HandlingFailure(code: code, message: reason))
    }
}

/// Why a message failed: a snake_case code an operator can group and select by, and a sentence.
public struct HandlingFailure: Sendable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A failure that may pass by itself (the default code of a retry).
    public static let transient = "transient_error"
    /// A message that can never be handled as it is (the default code of a dead-letter).
    public static let unprocessable = "unprocessable_message"
}
