import Crypto
import Foundation
import GatewayKit
import HTTPTypes
import Hummingbird
import Persistence
import Tokens

/// Makes, reads and ends admin sessions.
package struct AdminSessions: Sendable {
    package static let cookieName = "mediaflow_admin"
    package let authenticator: JWTAuthenticator
    package let store: any AdminSessionStore
    /// `Secure` on every cookie (`MEDIA_COOKIE_SECURE=true`, or a public base URL on https); otherwise only on requests
    /// that came over https (a proxy's `X-Forwarded-Proto`).
    package let alwaysSecure: Bool

    package init(authenticator: JWTAuthenticator, store: any AdminSessionStore, alwaysSecure: Bool) {
        self.authenticator = authenticator
        self.store = store
        self.alwaysSecure = alwaysSecure
    }

    package enum Identity {
        case anonymous
        /// Credentials were presented and refused: why.
        case refused(String, viaCookie: Bool)
        case session(AdminSession)
    }

    /// Who the request comes from. The session is looked up on every request: a copy kept here could outlive a logout
    /// made on another Gateway.
    package func identify(_ request: Request) async throws -> Identity {
        if request.headers[.authorization] != nil {
            do {
                let (user, expiresAt) = try authenticator.credentials(of: request)
                return .session(AdminSession(user: user, csrfToken: "", viaCookie: false, expiresAt: expiresAt))
            } catch {
                return .refused(error.detail, viaCookie: false)
            }
        }
        guard let secret = request.cookies[Self.cookieName]?.value, !secret.isEmpty else { return .anonymous }
        guard let record = try await store.find(secretHash: Self.hash(secret)) else {
            return .refused("signed out, expired or revoked", viaCookie: true)
        }
        return .session(AdminSession(
            user: AuthenticatedUser(id: record.userId, username: record.username, isStaff: record.isStaff),
            csrfToken: record.csrfToken, viaCookie: true, expiresAt: record.expiresAt))
    }

    /// A session for a staff token that verified, and the cookie that carries it.
    package func start(user: AuthenticatedUser, expiresAt: Date, request: Request) async throws -> Cookie {
        let secret = Self.randomToken()
        _ = try await store.create(
            secretHash: Self.hash(secret), userId: user.id, username: user.username, isStaff: user.isStaff,
            csrfToken: Self.randomToken(), expiresAt: expiresAt)
        return cookie(secret, expiresAt: expiresAt, request: request)
    }

    /// Ends the request's cookie session, if it has one; true when one was live.
    package func end(_ request: Request) async throws -> Bool {
        guard let secret = request.cookies[Self.cookieName]?.value, !secret.isEmpty else { return false }
        return try await store.end(secretHash: Self.hash(secret), by: "logout")
    }

    /// The session cookie: HttpOnly, SameSite=Strict, only under /admin, `Secure` under https, gone when the token
    /// expires.
    package func cookie(_ secret: String, expiresAt: Date, request: Request, now: Date = Date()) -> Cookie {
        Cookie(name: Self.cookieName, value: secret, expires: expiresAt, maxAge: max(0, Int(expiresAt.timeIntervalSince(now))),
               path: "/admin", secure: isSecure(request), httpOnly: true, sameSite: .strict)
    }

    /// A cookie that removes the session from the browser.
    package func clearingCookie(_ request: Request) -> Cookie {
        Cookie(name: Self.cookieName, value: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/admin",
               secure: isSecure(request), httpOnly: true, sameSite: .strict)
    }

    /// Whether the browser reached us over https: configured so, or so says the proxy in front.
    package func isSecure(_ request: Request) -> Bool {
        if alwaysSecure || request.uri.scheme?.rawValue.lowercased() == "https" { return true }
        let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-Proto") ?? .via].first?
            .split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased()
        return forwarded == "https"
    }

    /// What the store keeps of a secret: its SHA-256 (a copy of the table gives no live cookie).
    package static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// 32 random bytes, base64url (a cookie value and a form field: nothing in it needs escaping).
    package static func randomToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Equal strings in time that does not depend on where they differ.
    package static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// Guards every admin page but the login: no credentials → the login page (401); a refused token → the login page
/// saying why (401, and a refused cookie is cleared); a non-staff token → 403. A form posted with the cookie must
/// carry the page's CSRF token (403 `csrf_failed` otherwise); its fields are read here once and handed on.
package struct AdminSessionMiddleware: RouterMiddleware {
    package init(sessions: AdminSessions, pages: AdminPages) {
        self.sessions = sessions
        self.pages = pages
    }

    package typealias Context = GatewayRequestContext
    package let sessions: AdminSessions
    package let pages: AdminPages

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        switch try await sessions.identify(request) {
        case .anonymous:
            return pages.login(status: .unauthorized, next: request.uri.path, error: nil)
        case .refused(let why, let viaCookie):
            context.logger.info("admin sign-in refused", metadata: ["reason": "\(why)"])
            var response = pages.login(
                status: .unauthorized, next: request.uri.path,
                error: viaCookie ? "Your session has ended (\(why)). Paste a token to sign in again." : "The token was refused: \(why).")
            if viaCookie { response.setCookie(sessions.clearingCookie(request)) }
            return response
        case .session(let session):
            context.user = session.user
            context.logger[metadataKey: "user_id"] = "\(session.user.id)"
            guard session.user.isStaff else {
                context.logger.info("admin page refused: not staff", metadata: ["path": "\(request.uri.path)"])
                return pages.message(
                    status: .forbidden, title: "Staff only", heading: "Staff only",
                    text: "The token of \(session.user.username) (user \(session.user.id)) is not a staff member's. Sign in with a staff token.",
                    session: nil, back: "/admin/login")
            }
            context.adminSession = session
        }
        if request.method != .get && request.method != .head {
            let form = try await AdminForm.read(request, context: context)
            if let session = context.adminSession, session.viaCookie {
                struct CSRFField: Decodable { var csrf_token: String? }
                let sent = (try? form.decode(CSRFField.self))?.csrf_token
                guard let sent, AdminSessions.constantTimeEqual(sent, session.csrfToken) else {
                    context.logger.warning("admin form refused: CSRF token missing or wrong", metadata: ["path": "\(request.uri.path)"])
                    throw APIError(.forbidden, code: "csrf_failed",
                                   detail: "This form's CSRF token is missing or out of date: reload the page and try again.")
                }
            }
            context.adminForm = form
        }
        return try await next(request, context)
    }
}
