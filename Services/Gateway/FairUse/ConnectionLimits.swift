import GatewayKit
import NIOCore

/// What a connection may cost the Gateway (SPEC §10): how long a client may take with its headers, how long an upload
/// may pause, how long an idle keep-alive connection is kept, how many connections are held, how large a header
/// section may be. Read from `MEDIA_HEADER_TIMEOUT`, `MEDIA_BODY_IDLE_TIMEOUT`, `MEDIA_IDLE_TIMEOUT` and
/// `MEDIA_MAX_CONNECTIONS`.
public struct ConnectionLimits: Sendable, Equatable {
    /// From a request's first byte to the end of its header section.
    public var headerTimeout: TimeAmount = .seconds(10)
    /// Longest pause in a request body while the Gateway is waiting for it (not while it is busy storing it).
    public var bodyIdleTimeout: TimeAmount = .seconds(30)
    /// An idle keep-alive connection (no request under way, none answered for this long) is closed.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Connections held at once; the ones beyond get 503 `overloaded`.
    public var maxConnections: Int = 10_000
    /// Largest header section (request line and headers); larger gets 431.
    public var maxHeaderBytes: Int = 32 * 1024
    /// How long a refused connection (431, 503) keeps reading after its answer, so that closing it is no reset that
    /// could lose the answer.
    public var lingerAfterRefusal: TimeAmount = .seconds(2)

    public init() {}
}
