import GatewayKit
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// Counts the Gateway's open connections across its event loops: a connection is admitted or refused when it opens.
package final class ConnectionLimiter: Sendable {
    package let max: Int
    private let open = Atomic<Int>(0)
    private let gauge = Gauge(label: "mediaflow_http_connections")

    package init(max: Int) { self.max = max }

    /// Admits the channel (its slot is released when it closes), or refuses it.
    package func admit(_ channel: any Channel) -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= max else {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        gauge.record(count)
        channel.closeFuture.whenComplete { [self] _ in
            gauge.record(open.wrappingSubtract(1, ordering: .relaxed).newValue)
        }
        return true
    }
}

/// An answer written straight to the socket, before (or instead of) the HTTP codec: `{"detail", "code"}`, then close.
package enum RawAnswer {
    package static func json(_ status: HTTPResponse.Status, code: String, detail: String) -> ByteBuffer {
        let body = #"{"detail":"\#(detail)","code":"\#(code)"}"#
        return ByteBuffer(string:
            "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
    }

    package static func closed(_ reason: String) {
        Counter(label: "mediaflow_http_connections_closed_total", dimensions: [("reason", reason)]).increment()
    }
}

/// The first handler of an admitted connection, on its raw bytes (before NIO's HTTP decoder): it times the phases of
/// each request and counts the header section's bytes. One timer per connection, re-armed as the phase changes:
/// - a request's first byte starts the header clock (`headerTimeout`); the header section's end (CRLF CRLF) stops it,
///   and a section over `maxHeaderBytes` is answered 431 at once;
/// - while a body is being read, a pause longer than `bodyIdleTimeout` while the Gateway asks for bytes ends the
///   request: the body reader gets `RequestBodyTimeout` (an upload discards what it stored), the connection closes.
///   While the Gateway holds reads back (storage is slower than the client), the clock does not run;
/// - with no request under way, `idleTimeout` after the last answer closes the connection. Nothing runs a clock while
///   a response is being written (a live-status stream, a long download).
/// `RequestPhaseHandler`, behind the HTTP codec, tells it where each request is.
package final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package enum Phase {
        /// Between requests (or before the first).
        case idle(since: NIODeadline)
        /// A request's first byte arrived; its header section has not ended.
        case header(since: NIODeadline, bytes: Int, last4: UInt32)
        /// The header section ended; the decoder hands on the request head next.
        case headerDone
        /// The request head was decoded; its body is being read.
        case body
        /// Answered 431 or 503; draining until closed.
        case refused
    }

    package let limits: ConnectionLimits
    package let logger: Logger
    private(set) var phase: Phase = .idle(since: .now())
    /// Requests whose response has not ended yet.
    private(set) var inFlight = 0
    private var lastByte = NIODeadline.now()
    /// A read was asked for and not yet answered: the Gateway waits for the client (otherwise it holds reads back).
    private var readPending = false
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    package init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        rearm()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    package func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    package func read(context: ChannelHandlerContext) {
        if !readPending {
            readPending = true
            lastByte = .now()  // the pause is counted from when the Gateway asks for more
        }
        context.read()
        rearm()
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        // Set again by the next read(); stays false while the Gateway holds reads back (backpressure).
        readPending = false
        context.fireChannelReadComplete()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        lastByte = .now()
        if case .refused = phase { return }
        if case .idle = phase, buffer.readableBytes > 0 {
            phase = .header(since: .now(), bytes: 0, last4: 0)
            rearm()
        }
        if case .header(let since, var bytes, var last4) = phase {
            var ended = false
            for byte in buffer.readableBytesView {
                bytes += 1
                last4 = last4 << 8 | UInt32(byte)
                if last4 == 0x0D0A_0D0A {
                    ended = true
                    break
                }
                if bytes > limits.maxHeaderBytes {
                    refuseHeaderTooLarge(context)
                    return
                }
            }
            phase = ended ? .headerDone : .header(since: since, bytes: bytes, last4: last4)
            if ended { rearm() }
        }
        context.fireChannelRead(data)
    }

    /// 431 `header_too_large`, then close.
    package func refuseHeaderTooLarge(_ context: ChannelHandlerContext) {
        logger.info("connection refused: header section too large", metadata: ["limit_bytes": "\(limits.maxHeaderBytes)"])
        RawAnswer.closed("header_too_large")
        refuse(context, RawAnswer.json(
            .requestHeaderFieldsTooLarge, code: "header_too_large",
            detail: "The request's header section is larger than \(limits.maxHeaderBytes / 1024) KiB."))
    }

    /// Writes a raw answer, closes the output, reads what is still coming for `lingerAfterRefusal`, then closes.
    private func refuse(_ context: ChannelHandlerContext, _ answer: ByteBuffer) {
        phase = .refused
        timer?.cancel()
        timer = nil
        context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: limits.lingerAfterRefusal) { context.close(promise: nil) }
    }

    // MARK: told by RequestPhaseHandler

    package func headReceived() {
        phase = .body
        inFlight += 1
        lastByte = .now()
        rearm()
    }

    package func requestEnded() {
        phase = .idle(since: .now())
        rearm()
    }

    package func responseEnded() {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0, case .idle = phase { phase = .idle(since: .now()) }
        rearm()
    }

    // MARK: the one timer

    private var deadline: NIODeadline? {
        switch phase {
        case .header(let since, _, _): since + limits.headerTimeout
        case .headerDone, .refused: nil
        case .body: readPending ? lastByte + limits.bodyIdleTimeout : nil
        case .idle(let since): inFlight == 0 ? since + limits.idleTimeout : nil
        }
    }

    private func rearm() {
        timer?.cancel()
        timer = nil
        guard let context, let deadline else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard let due = self.deadline else { return }
            guard due <= .now() else { return rearm() }
            expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        switch phase {
        case .header:
            logger.info("connection closed: its request's headers were not complete in time",
                        metadata: ["timeout": "\(limits.headerTimeout)"])
            RawAnswer.closed("header_timeout")
        case .body:
            logger.info("connection closed: the request body paused too long", metadata: ["timeout": "\(limits.bodyIdleTimeout)"])
            RawAnswer.closed("body_idle_timeout")
            // Into the request's body stream first: its reader fails with this instead of seeing a short body.
            context.fireErrorCaught(RequestBodyTimeout())
        case .idle:
            logger.debug("idle connection closed", metadata: ["timeout": "\(limits.idleTimeout)"])
            RawAnswer.closed("idle_timeout")
        case .headerDone, .refused:
            return
        }
        context.close(promise: nil)
    }
}

/// Behind the HTTP codec: tells `ConnectionGuardHandler` where each request is (head, end, its response's end), and
/// answers the decoder's own header limit with 431 instead of Hummingbird's 400.
package final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package init(connection: ConnectionGuardHandler? = nil, connectionContext: ChannelHandlerContext? = nil) {
        self.connection = connection
        self.connectionContext = connectionContext
    }

    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart
    package typealias OutboundIn = HTTPResponsePart
    package typealias OutboundOut = HTTPResponsePart

    private var connection: ConnectionGuardHandler?
    private var connectionContext: ChannelHandlerContext?

    package func handlerAdded(context: ChannelHandlerContext) {
        connection = try? context.pipeline.syncOperations.handler(type: ConnectionGuardHandler.self)
        connectionContext = try? context.pipeline.syncOperations.context(handlerType: ConnectionGuardHandler.self)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        connection = nil
        connectionContext = nil
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: connection?.headReceived()
        case .body: break
        case .end: connection?.requestEnded()
        }
        context.fireChannelRead(data)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connection?.responseEnded() }
        context.write(data, promise: promise)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .headerOverflow? = error as? HTTPParserError, let connection, let connectionContext, connection.inFlight == 0 {
            connection.refuseHeaderTooLarge(connectionContext)
            return
        }
        context.fireErrorCaught(error)
    }
}

/// The only handler of a connection beyond `maxConnections`: 503 `overloaded` once the client speaks, then close; a
/// client that says nothing is closed after the header timeout. Nothing reaches the HTTP decoder.
package final class OverloadedHandler: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package let limits: ConnectionLimits
    private var answered = false

    package init(limits: ConnectionLimits) { self.limits = limits }

    package func channelActive(context: ChannelHandlerContext) {
        context.eventLoop.assumeIsolated().scheduleTask(in: limits.headerTimeout) { context.close(promise: nil) }
        context.fireChannelActive()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        RawAnswer.closed("overloaded")
        let answer = RawAnswer.json(
            .serviceUnavailable, code: "overloaded", detail: "The server is at its connection limit; try again shortly.")
        context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: limits.lingerAfterRefusal) { context.close(promise: nil) }
    }
}

/// Hummingbird's HTTP/1 channel with `ConnectionGuardHandler` (or, over the limit, `OverloadedHandler`) in front of
/// NIO's HTTP codec. Refusing goes through the pipeline: a child channel whose set-up fails is dropped silently.
package struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    package init(base: HTTP1Channel, limits: ConnectionLimits, limiter: ConnectionLimiter, logger: Logger) {
        self.base = base
        self.limits = limits
        self.limiter = limiter
        self.logger = logger
    }

    package typealias Value = HTTP1Channel.Value
    package let base: HTTP1Channel
    package let limits: ConnectionLimits
    package let limiter: ConnectionLimiter
    package let logger: Logger
    package var responder: Responder { base.responder }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            if limiter.admit(channel) {
                try channel.pipeline.syncOperations.addHandler(ConnectionGuardHandler(limits: limits, logger: self.logger))
            } else {
                self.logger.warning("connection refused: the Gateway holds its most connections",
                                    metadata: ["max_connections": "\(limits.maxConnections)"])
                try channel.pipeline.syncOperations.addHandler(OverloadedHandler(limits: limits))
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    package func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with the Gateway's connection limits (SPEC §10) and `additionalChannelHandlers` behind the codec.
    package static func guarded(
        limits: ConnectionLimits, logger: Logger,
        additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        let limiter = ConnectionLimiter(max: limits.maxConnections)
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestPhaseHandler()] + additionalChannelHandlers(),
            // Not Hummingbird's: its one timer would also cut a body paused by the Gateway's own backpressure.
            idleTimeout: nil,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes))
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(
                base: HTTP1Channel(responder: responder, configuration: configuration), limits: limits, limiter: limiter,
                logger: logger)
        }
    }
}
