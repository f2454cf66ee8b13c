import Foundation
import HTTPTypes
import Hummingbird
import Tokens

/// Who is using the admin pages and how they proved it (SPEC §7): a bearer token in `Authorization` (scripts), or the
/// session cookie `/admin/login` set from a pasted token (people in a browser). The cookie holds the token itself, so a
/// session needs no server-side state, works on every Gateway, and ends when the token expires.
struct AdminSession: Sendable {
    var user: AuthenticatedUser
    /// The CSRF token of this session's forms: a MAC of the session's token, so it changes with every login and cannot
    /// be guessed without the Gateway's secret.
    var csrfToken: String
    /// Whether the credentials came from the cookie, which a browser attaches by itself: only then can a request be
    /// forged by another site, so only then is the form's CSRF token required.
    var viaCookie: Bool
}

/// Makes and reads admin sessions.
struct AdminSessions: Sendable {
    static let cookieName = "mediaflow_admin"
    let authenticator: JWTAuthenticator
    /// Cookies get `Secure` when the Gateway is reached over https.
    let secureCookies: Bool

    enum Identity {
        case anonymous
        /// A token was presented and refused: why.
        case refused(String, viaCookie: Bool)
        case session(AdminSession)
    }

    func identify(_ request: Request) -> Identity {
        if request.headers[.authorization] != nil {
            do {
                let user = try authenticator.user(of: request)
                return .session(AdminSession(user: user, csrfToken: "", viaCookie: false))
            } catch {
                return .refused(error.detail, viaCookie: false)
            }
        }
        guard let token = Self.cookie(Self.cookieName, in: request) else { return .anonymous }
        do {
            let user = try authenticator.authenticate(token: token)
            return .session(AdminSession(user: user, csrfToken: csrfToken(for: token), viaCookie: true))
        } catch {
            return .refused(error.reason, viaCookie: true)
        }
    }

    func csrfToken(for token: String) -> String {
        authenticator.mac("mediaflow-admin-csrf:" + token)
    }

    /// The session cookie for a token that verified: HttpOnly, SameSite=Strict, only under /admin, `Secure` under
    /// https, and gone when the token expires.
    func cookie(for token: String, now: Date = Date()) -> String {
        let expiry = authenticator.expiry(of: token) ?? now.addingTimeInterval(3600)
        let maxAge = max(0, Int(expiry.timeIntervalSince(now)))
        return "\(Self.cookieName)=\(token); Path=/admin; Max-Age=\(maxAge); Expires=\(HTTPDate.format(expiry)); HttpOnly; SameSite=Strict"
            + (secureCookies ? "; Secure" : "")
    }

    /// A cookie that removes the session.
    var clearingCookie: String {
        "\(Self.cookieName)=; Path=/admin; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict"
            + (secureCookies ? "; Secure" : "")
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    let value = kv[1].trimmingCharacters(in: .whitespaces)
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }

    /// Equal strings in time that does not depend on where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
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
struct AdminSessionMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let sessions: AdminSessions
    let pages: AdminPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        switch sessions.identify(request) {
        case .anonymous:
            return pages.login(status: .unauthorized, next: request.uri.path, error: nil)
        case .refused(let why, let viaCookie):
            context.logger.info("admin sign-in refused", metadata: ["reason": "\(why)"])
            var response = pages.login(
                status: .unauthorized, next: request.uri.path,
                error: viaCookie ? "Your session has ended (\(why)). Paste a token to sign in again." : "The token was refused: \(why).")
            if viaCookie { response.headers[.setCookie] = sessions.clearingCookie }
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
            let form = try await FormFields.read(request, context: context)
            if let session = context.adminSession, session.viaCookie {
                guard let sent = form["csrf_token"], AdminSessions.constantTimeEqual(sent, session.csrfToken) else {
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
