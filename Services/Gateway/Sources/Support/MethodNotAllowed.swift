import Hummingbird

/// 405 with an `Allow` header for a method a path does not take. Hummingbird answers any unmatched method with 404,
/// which tells a client that the resource is missing when only the verb is wrong (RFC 9110 §15.5.6).
enum MethodNotAllowed {
    /// Every method a client may try; the ones a path does not take get the 405 responder.
    static let candidates: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .trace, .connect]

    static func error(allow: [HTTPRequest.Method]) -> APIError {
        let names = allow.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, code: "method_not_allowed",
                        detail: "This resource takes \(names) only.", headers: [.allow: names])
    }
}

extension RouterMethods where Context == GatewayRequestContext {
    /// Answers 405 (with `Allow`) for every method of `MethodNotAllowed.candidates` that `allow` lacks. OPTIONS stays
    /// with the CORS middleware.
    @discardableResult
    func methodNotAllowed(_ path: RouterPath, allow: [HTTPRequest.Method]) -> Self {
        let refusal = MethodNotAllowed.error(allow: allow)
        for method in MethodNotAllowed.candidates where !allow.contains(method) {
            on(path, method: method) { _, _ -> Response in throw refusal }
        }
        return self
    }
}
