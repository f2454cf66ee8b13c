import GatewayKit
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue` as soon as the request head arrives.
///
/// curl and many HTTP libraries send this header with large uploads and then hold the body back until the
/// server answers or a timeout (curl: one second) passes. Hummingbird does not answer it, so every large
/// upload paid that second: 100 MB went at ~80 MB/s. Handlers still refuse early (401, 413) as before; a
/// client that got 100 and then a final error stops sending when the connection closes.
package final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    package init() {}

    package typealias InboundIn = HTTPRequestPart
    package typealias InboundOut = HTTPRequestPart
    package typealias OutboundOut = HTTPResponsePart

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var head) = unwrapInboundIn(data),
           let expect = head.headerFields[.expect], expect.lowercased() == "100-continue"
        {
            head.headerFields[.expect] = nil
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
    }
}
