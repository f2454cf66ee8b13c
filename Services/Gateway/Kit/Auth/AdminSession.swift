import Foundation
import Tokens

/// Who is using the admin pages and how they proved it (SPEC §7): a bearer token in `Authorization` (scripts), or the
/// session cookie `/admin/login` set from a pasted token (people in a browser). The cookie holds a random secret, never
/// the token: the session lives in PostgreSQL (`AdminSessionStore`), so logout, the token's expiry or staff revoking it
/// ends it on every Gateway at once.
package struct AdminSession: Sendable {
    package init(user: AuthenticatedUser, csrfToken: String, viaCookie: Bool, expiresAt: Date) {
        self.user = user
        self.csrfToken = csrfToken
        self.viaCookie = viaCookie
        self.expiresAt = expiresAt
    }

    package var user: AuthenticatedUser
    /// The CSRF token of this session's forms: random, kept with the session.
    package var csrfToken: String
    /// Whether the credentials came from the cookie, which a browser attaches by itself: only then can a request be
    /// forged by another site, so only then is the form's CSRF token required.
    package var viaCookie: Bool
    /// When the credentials end (the token's expiry): the console's live-status stream ends then too.
    package var expiresAt: Date
}
