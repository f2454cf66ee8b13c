import Hummingbird
import MediaDomain

/// Puts every request in a trace (SPEC §3): the caller's W3C `traceparent` when it sends a valid one, else a new
/// trace. Its id goes into the request's log lines (`trace_id`) and, through the outbox, into the `media.uploaded`
/// event the request makes, so the processors and the outcome's fold log the same id. The response says which trace
/// it was (`traceparent` of this hop), so a client can quote it in a bug report.
struct TraceContextMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = request.headers.value(named: TraceParent.headerName).flatMap(TraceParent.init(header:))
        let trace = incoming?.child() ?? TraceParent.random()
        var context = context
        context.trace = trace
        context.logger[metadataKey: "trace_id"] = "\(trace.traceId)"
        var response = try await next(request, context)
        response.headers.set(TraceParent.headerName, trace.header)
        return response
    }
}
