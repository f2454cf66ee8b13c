/// What a handler decided about one message.
public enum HandlingOutcome: Sendable, Equatable {
    /// Done (or a duplicate): acknowledge.
    case ack
    /// Transient failure (storage or broker hiccup): try again later, dead-letter once attempts are exhausted.
    case retry(reason: String)
    /// Permanent failure (unsupported or corrupt input): dead-letter at once.
    case deadLetter(reason: String)
}
