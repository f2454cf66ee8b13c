/// An error from the messaging layer.
///
/// A struct wrapping a private code so new cases can be added without breaking callers; compare with the
/// static members (`error == .publishNacked`). `message` carries the details (broker reply text, errno...).
public struct MessagingError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable, Equatable {
        case invalidURL
        case connectionFailed
        case connectionLost
        case publishNacked
        case publishFailed
        case declareFailed
        case consumeFailed
        case deliveryNotSettleable
        case exchangeNotFound
        case shutdown
    }

    private let code: Code
    /// Human-readable details.
    public let message: String

    private init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    /// Equality compares the kind of error only, not the message.
    public static func == (lhs: MessagingError, rhs: MessagingError) -> Bool { lhs.code == rhs.code }

    public var description: String {
        message.isEmpty ? "MessagingError.\(code.rawValue)" : "MessagingError.\(code.rawValue): \(message)"
    }

    /// The broker URL could not be parsed.
    public static var invalidURL: Self { .init(.invalidURL) }
    /// The broker could not be reached or refused the login.
    public static var connectionFailed: Self { .init(.connectionFailed) }
    /// The connection dropped while the operation was in flight (its outcome is unknown: retry).
    public static var connectionLost: Self { .init(.connectionLost) }
    /// The broker refused to take responsibility for a published message (Basic.Nack).
    public static var publishNacked: Self { .init(.publishNacked) }
    /// The message could not be published (e.g. the broker closed the channel).
    public static var publishFailed: Self { .init(.publishFailed) }
    /// Declaring exchanges, queues or bindings failed (e.g. a queue exists with other arguments).
    public static var declareFailed: Self { .init(.declareFailed) }
    /// Consuming could not start (e.g. the queue does not exist).
    public static var consumeFailed: Self { .init(.consumeFailed) }
    /// The delivery cannot be settled: its channel is gone or it was settled already.
    public static var deliveryNotSettleable: Self { .init(.deliveryNotSettleable) }
    /// Published to an exchange that was never declared.
    public static var exchangeNotFound: Self { .init(.exchangeNotFound) }
    /// The broker client was shut down.
    public static var shutdown: Self { .init(.shutdown) }

    static func invalidURL(_ message: String) -> Self { .init(.invalidURL, message) }
    static func connectionFailed(_ message: String) -> Self { .init(.connectionFailed, message) }
    static func connectionLost(_ message: String) -> Self { .init(.connectionLost, message) }
    static func publishNacked(_ message: String) -> Self { .init(.publishNacked, message) }
    static func publishFailed(_ message: String) -> Self { .init(.publishFailed, message) }
    static func declareFailed(_ message: String) -> Self { .init(.declareFailed, message) }
    static func consumeFailed(_ message: String) -> Self { .init(.consumeFailed, message) }
    static func deliveryNotSettleable(_ message: String) -> Self { .init(.deliveryNotSettleable, message) }
    static func exchangeNotFound(_ message: String) -> Self { .init(.exchangeNotFound, message) }
    static func shutdown(_ message: String) -> Self { .init(.shutdown, message) }
}
