import Foundation
import Hummingbird

extension JWTAuthenticator {
    /// The caller of a request: 401 `not_authenticated` without an `Authorization` header, 401
    /// `token_invalid` for any token that does not verify.
    func user(of request: Request) throws(APIError) -> AuthenticatedUser {
        guard let header = request.headers[.authorization] else { throw .notAuthenticated() }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw .tokenInvalid("authorization header must be 'Bearer <token>'")
        }
        return try authenticate(token: String(parts[1]).trimmingCharacters(in: .whitespaces))
    }
}
