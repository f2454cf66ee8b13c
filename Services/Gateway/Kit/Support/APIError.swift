import Foundation
import Hummingbird

/// An error a client can act on: a status, a stable snake_case `code` and a sentence (`detail`).
/// Handlers throw these; `APIErrorMiddleware` renders every error, these and unexpected ones, as
/// `{"detail": ..., "code": ...}`.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
    }

    public static func notAuthenticated() -> APIError {
        APIError(
            .unauthorized, code: "not_authenticated", detail: "Authentication credentials were not provided.",
            headers: [.wwwAuthenticate: #"Bearer realm="api""#])
    }

    public static func tokenInvalid(_ why: String) -> APIError {
        APIError(
            .unauthorized, code: "token_invalid", detail: "Given token not valid: \(why).",
            headers: [.wwwAuthenticate: #"Bearer realm="api", error="invalid_token""#])
    }

    public static func notFound(_ detail: String = "Not found.") -> APIError {
        APIError(.notFound, code: "not_found", detail: detail)
    }

    public static func badRequest(_ code: String, _ detail: String) -> APIError {
        APIError(.badRequest, code: code, detail: detail)
    }

    public static func serviceUnavailable(_ code: String, _ detail: String) -> APIError {
        APIError(.serviceUnavailable, code: code, detail: detail, headers: [.retryAfter: "1"])
    }

    package func response() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = ErrorBody(detail: detail, code: code)
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"detail":"error","code":"internal_error"}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    package struct ErrorBody: Encodable {
        package var detail: String
        package var code: String

        package init(detail: String, code: String) {
            self.detail = detail
            self.code = code
        }
    }
}
