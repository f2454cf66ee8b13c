import Hummingbird

/// The methods a path takes, said the way HTTP says it: 405 with an `Allow` header for a method it does not take, and
/// `OPTIONS` answered with that same `Allow`. Hummingbird answers any unmatched method with 404, which tells a client
/// that the resource is missing when only the verb is wrong (RFC 9110 §15.5.6).
package enum MethodNotAllowed {
    /// Every method a client may try on a path; the ones it does not take get the 405 responder. (CONNECT is left
    /// out: it names a host, not a path, and the HTTP parser refuses it before routing.)
    package static let candidates: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .trace, query]
    /// RFC 9110's safe request-with-body method; clients and fuzzers try it.
    package static let query = HTTPRequest.Method("QUERY")!

    package static func allowHeader(_ allow: [HTTPRequest.Method]) -> String {
        (allow + [.options]).map(\.rawValue).joined(separator: ", ")
    }

    package static func error(allow: [HTTPRequest.Method]) -> APIError {
        APIError(.methodNotAllowed, code: "method_not_allowed",
                 detail: "This resource takes \(allow.map(\.rawValue).joined(separator: ", ")) only.",
                 headers: [.allow: allowHeader(allow)])
    }
}

extension RouterMethods where Context == GatewayRequestContext {
    /// Answers 405 (with `Allow`) for every method of `MethodNotAllowed.candidates` that `allow` lacks, and `OPTIONS`
    /// with 204 and `Allow`. A CORS preflight never gets here: the CORS middleware answers it first.
    @discardableResult
    package func methodNotAllowed(_ path: RouterPath, allow: [HTTPRequest.Method]) -> Self {
        let refusal = MethodNotAllowed.error(allow: allow)
        for method in MethodNotAllowed.candidates where !allow.contains(method) {
            on(path, method: method) { _, _ -> Response in throw refusal }
        }
        let allowed = MethodNotAllowed.allowHeader(allow)
        on(path, method: .options) { _, _ -> Response in
            Response(status: .noContent, headers: [.allow: allowed])
        }
        return self
    }
}
