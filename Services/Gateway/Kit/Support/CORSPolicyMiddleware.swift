import Hummingbird

/// CORS for browser apps on other origins (SPEC §1.5): answers preflights and marks responses for the
/// configured origins (`*` allows any). Hummingbird's own middleware takes one origin or all; we need a list.
package struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    package let allowedOrigins: Set<String>
    package var allowsAny: Bool { allowedOrigins.contains("*") }

    package init(origins: [String]) { allowedOrigins = Set(origins) }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowsAny || allowedOrigins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = "GET, HEAD, POST, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Idempotency-Key, Range, If-None-Match, traceparent, "
                + "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Defer-Length"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        for field in corsHeaders(origin: origin) { response.headers[field.name] = field.value }
        return response
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        [
            .accessControlAllowOrigin: allowsAny ? "*" : origin,
            .vary: "Origin",
            // Tus clients in browsers read the protocol's headers, and the media a finished upload became.
            .accessControlExposeHeaders: "Content-Range, Accept-Ranges, ETag, Content-Length, Location, traceparent, "
                + "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Offset, Upload-Length, Upload-Expires, "
                + "Media-Id, Media-Location",
        ]
    }
}
