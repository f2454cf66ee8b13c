import Foundation
import Hummingbird
import MediaDomain
import ServiceKit
import Tracing

/// Puts every request in a trace (SPEC §3): the caller's W3C `traceparent` when it sends a valid one, else a new
/// trace. The request runs in a server span (exported when OTLP export is on), its trace id goes into the request's
/// log lines (`trace_id`) and, through the outbox, into the `media.uploaded` event the request makes, so the
/// processors and the outcome's fold continue the same trace. The response says which trace it was (`traceparent`
/// of this hop), so a client can quote it in a bug report.
package struct TraceContextMiddleware: RouterMiddleware {
    package init() {}

    package typealias Context = GatewayRequestContext

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Probes and scrapes come every few seconds and carry no upload: no span, no trace.
        if Self.untraced.contains(request.uri.path) { return try await next(request, context) }
        let incoming = request.headers.value(named: TraceParent.headerName).flatMap(TraceParent.init(header:))
        let name = "\(request.method) \(Self.route(of: request.uri.path))"
        return try await TraceSpan.run(name, kind: .server, continuing: incoming) { trace, span in
            span.attributes["http.request.method"] = request.method.rawValue
            span.attributes["url.path"] = request.uri.path
            var context = context
            context.trace = trace
            context.logger[metadataKey: "trace_id"] = "\(trace.traceId)"
            var response = try await next(request, context)
            span.attributes["http.response.status_code"] = Int(response.status.code)
            if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            response.headers.set(TraceParent.headerName, trace.header)
            return response
        }
    }

    package static let untraced: Set<String> = ["/healthz", "/readyz", "/metrics"]

    /// The path with its ids replaced by `{id}` (and a stored file's key by `{key}`): a span name that groups
    /// requests (`GET /api/media/{id}/`) instead of one name per media.
    package static func route(of path: String) -> String {
        if path.hasPrefix("/media/") { return "/media/{key}" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { (!$0.isEmpty && $0.allSatisfy(\.isNumber)) || UUID(uuidString: String($0)) != nil ? "{id}" : String($0) }
            .joined(separator: "/")
    }
}
