import Hummingbird
import Tokens

/// Verifies the bearer token once per request and puts the caller in the request context (`context.user`); the
/// routes behind it read the user from there and never parse a token themselves.
///
/// A request without `Authorization` is 401 `not_authenticated`; any token that does not verify is 401
/// `token_invalid` (SPEC §1 Auth).
package struct AuthenticationMiddleware: RouterMiddleware {
    package init(authenticator: JWTAuthenticator) {
        self.authenticator = authenticator
    }

    package typealias Context = GatewayRequestContext
    package let authenticator: JWTAuthenticator

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.user = try authenticator.user(of: request)
        context.logger[metadataKey: "user_id"] = "\(context.user?.id ?? 0)"
        return try await next(request, context)
    }
}

/// Lets only staff (`is_staff` in the token) through; stacked on `AuthenticationMiddleware` (SPEC §7).
package struct StaffOnlyMiddleware: RouterMiddleware {
    package init() {}

    package typealias Context = GatewayRequestContext

    package func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard try context.requireUser().isStaff else {
            throw APIError(.forbidden, code: "permission_denied", detail: "Staff only: this token is not a staff member's.")
        }
        return try await next(request, context)
    }
}
