import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import Persistence
import Storage

/// Renders every error as `{"detail", "code"}` with a fitting status, in one place, and logs what a user hit.
package struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.translate(error, logger: context.logger).response()
        }
    }

    /// The `APIError` a thrown error is answered with, logged as what it is (the admin pages render the same
    /// translation as HTML).
    package static func translate(_ error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            if error.status.code >= 500 {
                logger.error("request failed", metadata: ["code": "\(error.code)", "detail": "\(error.detail)"])
            } else if error.status != .notFound {
                logger.info("request refused", metadata: ["status": "\(error.status.code)", "code": "\(error.code)", "detail": "\(error.detail)"])
            }
            return error
        case let error as HTTPError:
            return map(error)
        case let error where DatabaseFailure.isUnavailable(error):
            logger.error("database unavailable", metadata: [
                "error": "\(DatabaseFailure.describe(error))",
            ])
            return APIError.serviceUnavailable("database_unavailable", "The database is unavailable; try again shortly.")
        case is RequestBodyTimeout:
            // The connection is closed under this answer: it is only ever logged.
            logger.info("request cut: its body paused too long", metadata: ["error": "\(error)"])
            return APIError(.requestTimeout, code: "body_timeout", detail: "The request body paused too long.")
        case let error as HTTPParserError:
            // The request itself broke off (the client closed the connection mid-body) or was malformed: nothing of
            // ours failed, and whatever it was writing has been dropped on the way out.
            logger.info("request broke off", metadata: ["error": "\(error)"])
            return APIError.badRequest("bad_request", "The request ended before its body did.")
        case let error as StorageError:
            logger.error("storage failed", metadata: ["error": "\(error)"])
            return APIError.serviceUnavailable("storage_unavailable", "File storage is unavailable; try again shortly.")
        default:
            // A database error that is not an outage (a constraint, a bad statement) is a bug: 500, logged in full.
            logger.error("unexpected error", metadata: [
                "error": "\(DatabaseFailure.describe(error))",
            ])
            return APIError(.internalServerError, code: "internal_error", detail: "An unexpected error occurred.")
        }
    }

    package static func map(_ error: HTTPError) -> APIError {
        let code: String = switch error.status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "file_too_large"
        case .unauthorized: "not_authenticated"
        case .badRequest: "bad_request"
        default: error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
        }
        let detail = error.body ?? (error.status == .notFound ? "Not found." : error.status.reasonPhrase + ".")
        return APIError(error.status, code: code, detail: detail, headers: error.headers)
    }
}
