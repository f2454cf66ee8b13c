import GatewayKit
import Hummingbird

/// tus's version handshake (SPEC §8): every request but discovery says `Tus-Resumable: 1.0.0`, else 412 with the
/// versions this server speaks; every answer, refusals too, says `Tus-Resumable`.
package struct TusVersionMiddleware: RouterMiddleware {
    package init() {}

    package typealias Context = GatewayRequestContext

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers.value(named: "Tus-Resumable") == ResumableUploadController.version else {
            var headers = HTTPFields()
            headers.set("Tus-Resumable", ResumableUploadController.version)
            headers.set("Tus-Version", ResumableUploadController.version)
            throw APIError(.preconditionFailed, code: "tus_version_unsupported",
                           detail: "Send Tus-Resumable: \(ResumableUploadController.version).", headers: headers)
        }
        do {
            return try await next(request, context)
        } catch {
            var answer = error as? APIError ?? APIErrorMiddleware<Context>.translate(error, logger: context.logger)
            answer.headers.set("Tus-Resumable", ResumableUploadController.version)
            throw answer
        }
    }
}
