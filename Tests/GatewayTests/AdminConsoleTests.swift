import Foundation
@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Testing
import Tokens

/// The admin console (SPEC §7) over the in-memory store: the staff list API's filters, the session cookie, CSRF, and
/// pages that render (and escape) what users named their files. The browser itself is in `AdminConsoleBrowserTests`.
@Suite("Admin console: sessions, CSRF, filters, pages")
struct AdminConsoleTests: AdminConsoleSignIn {
    @discardableResult
    func media(_ gateway: TestGateway, user: Int64, username: String? = nil, name: String, format: MediaFormat = .jpeg) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: user, username: username ?? "user\(user)", format: format, fileSize: Int64(Samples.jpeg.count),
            originalFilename: name, storageKey: key, isPublic: true))
        else { throw CancellationError() }
        return media
    }

    func staffToken(_ gateway: TestGateway, lifetime: TimeInterval = 3600) -> String {
        gateway.authenticator.mint(user: AuthenticatedUser(id: 900, username: "ops", isStaff: true), lifetime: lifetime)
    }


    @Test func theStaffListFiltersEveryUsersMediaInTheDatabaseSense() async throws {
        let gateway = try TestGateway()
        let a = try await media(gateway, user: 1, username: "alice", name: "Holiday-Beach.jpg")
        try await media(gateway, user: 2, username: "bob", name: "report.png", format: .png)
        try await media(gateway, user: 2, username: "bob", name: "beach_50%.jpg")
        try await gateway.test { client in
            func ids(_ query: String) async throws -> [Int64] {
                try await client.execute(uri: "/api/admin/media/" + query, method: .get, headers: gateway.staff()) { response in
                    #expect(response.status == .ok, "\(query)")
                    let body = try decodeJSON(response.body)
                    guard case .array(let results)? = body["results"] else { return [] }
                    #expect(body["count"]?.intValue == Int64(results.count))
                    return results.compactMap { $0["id"]?.intValue }
                }
            }
            #expect(try await ids("").count == 3, "every user's media")
            #expect(try await ids("?user=2").count == 2)
            #expect(try await ids("?q=BEACH").count == 2, "search ignores case")
            #expect(try await ids("?q=alice") == [a.id], "search finds owner names too")
            #expect(try await ids("?q=50%25").count == 1, "a % in the search is a literal %")
            #expect(try await ids("?type=image&status=processing").count == 3)
            #expect(try await ids("?created_after=2999-01-01").isEmpty)
            #expect(try await ids("?created_before=2999-01-01T00:00:00Z").count == 3)
            for bad in ["?type=pdf", "?status=gone", "?user=-1", "?created_after=yesterday"] {
                try await client.execute(uri: "/api/admin/media/" + bad, method: .get, headers: gateway.staff()) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    let code = try decodeJSON(response.body)["code"]
                    #expect(code == "invalid_filter")
                }
            }
            try await client.execute(uri: "/api/admin/media/", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/admin/media/", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func theDoorAnswersLoginPage401NonStaff403AndStaff200() async throws {
        let gateway = try TestGateway()
        try await gateway.broker.declare(MediaTopology.all())
        try await gateway.test { client in
            for path in ["/admin/", "/admin/mediafiles/media/", "/admin/dead-letters/", "/admin/janitor/", "/admin/stats/"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    #expect(String(buffer: response.body).contains(#"<textarea id="token" name="token""#), "the login form")
                }
                try await client.execute(uri: path, method: .get, headers: gateway.auth()) { response in
                    #expect(response.status == .forbidden, "\(path)")
                    #expect(String(buffer: response.body).contains("Staff only"))
                }
                try await client.execute(uri: path, method: .get, headers: gateway.staff()) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
            try await client.execute(uri: "/admin/stats/", method: .get, headers: [.authorization: "Bearer nonsense"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains("The token was refused"))
            }
        }
    }

    @Test func loginSetsAStrictHttpOnlyCookieThatExpiresWithTheToken() async throws {
        let gateway = try TestGateway()
        let token = staffToken(gateway, lifetime: 1800)
        try await gateway.test { client in
            try await client.execute(uri: "/admin/login", method: .post, headers: formType, body: form([("token", token)])) { response in
                #expect(response.status == .seeOther)
                let cookie = response.headers[.setCookie] ?? ""
                #expect(cookie.hasPrefix("mediaflow_admin=") && !cookie.contains(token), "an opaque id, never the token: \(cookie)")
                let value = cookie.dropFirst("mediaflow_admin=".count).prefix { $0 != ";" }
                #expect(value.count == 43, "32 random bytes: \(value)")
                for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] { #expect(cookie.contains(attribute), "\(cookie)") }
                #expect(!cookie.contains("Secure"), "plain http: no Secure")
                let maxAge = cookie.split(separator: ";").compactMap { part -> Int? in
                    let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
                    return kv.count == 2 && kv[0] == "Max-Age" ? Int(kv[1]) : nil
                }.first ?? 0
                #expect((1795...1800).contains(maxAge), "expires with the token: \(cookie)")
            }
            // A user's token, a forged one, none: no cookie.
            try await client.execute(uri: "/admin/login", method: .post, headers: formType,
                                     body: form([("token", gateway.token(user: 5))])) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/admin/login", method: .post, headers: formType, body: form([("token", token + "x")])) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
                #expect(String(buffer: response.body).contains("The token was refused"))
            }
            let session = try await signIn(client, token: token)
            #expect(!session.csrf.isEmpty, "pages carry a CSRF token")
            try await client.execute(uri: "/admin/logout", method: .post, headers: [.cookie: session.cookie]) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true, "logout clears the cookie")
            }
        }
        for (environment, headers, why) in [
            (["MEDIA_PUBLIC_BASE_URL": "https://media.test"], [:], "a public base URL on https"),
            (["MEDIA_COOKIE_SECURE": "true"], [:], "MEDIA_COOKIE_SECURE"),
            ([:], [HTTPField.Name("X-Forwarded-Proto")!: "https"], "a proxy that received https"),
        ] as [([String: String], HTTPFields, String)] {
            let secure = try TestGateway(environment: environment)
            try await secure.test { client in
                var all = formType
                all.append(contentsOf: headers)
                try await client.execute(uri: "/admin/login", method: .post, headers: all,
                                         body: form([("token", staffToken(secure))])) { response in
                    #expect(response.headers[.setCookie]?.contains("; Secure") == true, "Secure with \(why)")
                }
            }
        }
    }

    /// SPEC §7: logout ends the session on every Gateway, not only in the browser that had the cookie.
    @Test func afterLogoutTheSameCookieOpensNothingOnAnyGateway() async throws {
        let sessions = MemoryAdminSessionStore()
        let first = try TestGateway(adminSessions: sessions), second = try TestGateway(adminSessions: sessions)
        let token = staffToken(first)
        let signedIn = Captured("")
        try await first.test { client in
            signedIn.value = try await signIn(client, token: token).cookie
        }
        let cookie = signedIn.value
        try await second.test { client in
            try await client.execute(uri: "/admin/mediafiles/media/", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok, "the session works on another Gateway")
            }
        }
        try await first.test { client in
            try await client.execute(uri: "/admin/logout", method: .post, headers: [.cookie: cookie]) { response in
                #expect(response.status == .seeOther)
            }
            try await client.execute(uri: "/admin/mediafiles/media/", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .unauthorized, "the old cookie, sent again after logout")
                #expect(String(buffer: response.body).contains(#"<textarea id="token" name="token""#), "the login page")
            }
        }
        try await second.test { client in
            try await client.execute(uri: "/admin/mediafiles/media/", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .unauthorized, "ended on the other Gateway too")
            }
        }
    }

    @Test func staffRevokingASessionEndsItAtOnce() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let session = try await signIn(client, token: staffToken(gateway))
            let id = try await client.execute(uri: "/api/admin/sessions/", method: .get, headers: gateway.staff()) { response in
                #expect(response.status == .ok)
                guard case .array(let results)? = try decodeJSON(response.body)["results"] else { return Int64(0) }
                #expect(results.count == 1 && results.first?["username"] == "ops")
                return results.first?["id"]?.intValue ?? 0
            }
            try await client.execute(uri: "/api/admin/sessions/\(id)/", method: .delete, headers: gateway.auth()) { response in
                #expect(response.status == .forbidden, "staff only")
            }
            try await client.execute(uri: "/api/admin/sessions/\(id)/", method: .delete, headers: gateway.staff()) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/admin/sessions/\(id)/", method: .delete, headers: gateway.staff()) { response in
                #expect(response.status == .notFound, "already ended")
            }
            try await client.execute(uri: "/admin/mediafiles/media/", method: .get, headers: [.cookie: session.cookie]) { response in
                #expect(response.status == .unauthorized, "a revoked session opens the login page")
            }
        }
    }

    @Test func aSessionEndsWhenItsTokenExpires() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let session = try await signIn(client, token: staffToken(gateway, lifetime: 2))
            try await client.execute(uri: "/admin/stats/", method: .get, headers: [.cookie: session.cookie]) { response in
                #expect(response.status == .ok)
            }
            // The session's end is the token's `exp` (whole seconds): from then on, the login page.
            let expiry = Date().addingTimeInterval(3)
            var status = HTTPResponse.Status.ok
            while status == .ok, Date() < expiry.addingTimeInterval(2) {
                try await Task.sleep(for: .milliseconds(100))
                status = try await client.execute(uri: "/admin/stats/", method: .get, headers: [.cookie: session.cookie]) { $0.status }
            }
            #expect(status == .unauthorized && Date() < expiry.addingTimeInterval(2))
        }
    }

    /// No inline script or style anywhere: the policy allows neither, and the page's own files are served.
    @Test func pagesNeedNoInlineScriptOrStyle() async throws {
        let gateway = try TestGateway()
        let item = try await media(gateway, user: 4, name: "a.jpg")
        try await gateway.broker.declare(MediaTopology.all())
        try await gateway.test { client in
            for path in ["/admin/login", "/admin/mediafiles/media/", "/admin/mediafiles/media/\(item.id)/", "/admin/dead-letters/",
                         "/admin/janitor/", "/admin/stats/", "/admin/sessions/"] {
                try await client.execute(uri: path, method: .get, headers: gateway.staff()) { response in
                    let policy = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                    #expect(!policy.contains("unsafe-inline") && policy.contains("script-src 'self'"), "\(path): \(policy)")
                    let html = String(buffer: response.body)
                    #expect(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="), "\(path)")
                    #expect(html.contains(#"<script src="/admin/assets/admin.js" defer></script>"#), "\(path)")
                }
            }
            for (asset, type) in [("admin.css", "text/css"), ("admin.js", "text/javascript")] {
                try await client.execute(uri: "/admin/assets/\(asset)", method: .get) { response in
                    #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix(type) == true, "\(asset)")
                    #expect(response.body.readableBytes > 500)
                }
            }
            try await client.execute(uri: "/admin/assets/../../etc/passwd", method: .get) { response in
                #expect(response.status == .notFound || response.status == .unauthorized)
            }
        }
    }

    @Test func aFormPostedWithTheCookieNeedsItsCSRFToken() async throws {
        let gateway = try TestGateway()
        let victim = try await media(gateway, user: 3, name: "keep-me.jpg")
        try await gateway.test { client in
            let session = try await signIn(client, token: staffToken(gateway))
            var headers = formType
            headers[.cookie] = session.cookie
            // The real token with its last character changed (to another one: a token may end in "A").
            let tampered = String(session.csrf.dropLast()) + (session.csrf.hasSuffix("A") ? "B" : "A")
            for csrf in [nil, "forged", tampered] {
                var fields = [("action", "delete"), ("ids[]", String(victim.id))]
                if let csrf { fields.append(("csrf_token", csrf)) }
                try await client.execute(uri: "/admin/mediafiles/media/", method: .post, headers: headers, body: form(fields)) { response in
                    #expect(response.status == .forbidden, "csrf \(csrf ?? "missing")")
                    #expect(String(buffer: response.body).contains("csrf_failed"))
                }
            }
            #expect(try await gateway.repository.find(id: victim.id) != nil, "nothing was deleted")
            try await client.execute(
                uri: "/admin/mediafiles/media/", method: .post, headers: headers,
                body: form([("action", "make_private"), ("ids[]", String(victim.id)), ("csrf_token", session.csrf),
                            ("return", "/admin/mediafiles/media/?q=keep")])
            ) { response in
                #expect(response.status == .seeOther)
                let location = response.headers[.location] ?? ""
                #expect(location.hasPrefix("/admin/mediafiles/media/?q=keep&notice="), "back where the form was: \(location)")
            }
            #expect(try await gateway.repository.find(id: victim.id)?.isPublic == false)
            // A bearer token is no ambient credential: a script posting with it needs no CSRF token.
            var bearer = gateway.staff()
            bearer[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/admin/mediafiles/media/", method: .post, headers: bearer,
                                     body: form([("action", "make_public"), ("ids[]", String(victim.id)), ("return", "https://evil.test/")])) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location]?.hasPrefix("/admin/mediafiles/media/?notice=") == true, "never redirected off the console")
            }
            #expect(try await gateway.repository.find(id: victim.id)?.isPublic == true)
        }
    }

    /// Forms are read by Hummingbird's `URLEncodedFormDecoder` (issue 27, the house): the list's ticked checkboxes come
    /// as `ids[]` (percent-encoded as a browser sends them) and all of them are acted on; a query naming a filter twice
    /// is a clear 400, not the first value silently.
    @Test func aBulkFormActsOnEveryTickedRow() async throws {
        let gateway = try TestGateway()
        let first = try await media(gateway, user: 5, name: "one.jpg")
        let second = try await media(gateway, user: 5, name: "two.jpg")
        let untouched = try await media(gateway, user: 5, name: "three.jpg")
        try await gateway.test { client in
            var headers = gateway.staff()
            headers[.contentType] = "application/x-www-form-urlencoded"
            let body = "action=make_private&ids%5B%5D=\(first.id)&ids%5B%5D=\(second.id)&return=%2Fadmin%2Fmediafiles%2Fmedia%2F"
            try await client.execute(uri: "/admin/mediafiles/media/", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location]?.contains("2%20done") == true, "\(response.headers[.location] ?? "")")
            }
            #expect(try await gateway.repository.find(id: first.id)?.isPublic == false)
            #expect(try await gateway.repository.find(id: second.id)?.isPublic == false)
            #expect(try await gateway.repository.find(id: untouched.id)?.isPublic == true)
            try await client.execute(uri: "/admin/mediafiles/media/?status=ready&status=failed", method: .get, headers: gateway.staff()) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("invalid_parameter"))
            }
        }
    }

    @Test func pagesRenderWhatUsersNamedTheirFilesAsText() async throws {
        let gateway = try TestGateway()
        let hostile = try await media(gateway, user: 4, username: "<b>mallory</b>", name: "<script>alert(1)</script>.jpg")
        try await gateway.test { client in
            for path in ["/admin/mediafiles/media/", "/admin/mediafiles/media/\(hostile.id)/", "/admin/mediafiles/media/?q=%3Cscript"] {
                try await client.execute(uri: path, method: .get, headers: gateway.staff()) { response in
                    #expect(response.status == .ok, "\(path)")
                    let html = String(buffer: response.body)
                    #expect(!html.contains("<script>alert(1)"), "\(path) escapes the file name")
                    #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.jpg"), "\(path) shows it as text")
                    #expect(!html.contains("<b>mallory</b>"))
                    #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
                }
            }
            try await client.execute(uri: "/admin/mediafiles/media/999999/", method: .get, headers: gateway.staff()) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/admin/mediafiles/media/?type=pdf", method: .get, headers: gateway.staff()) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("invalid_filter"), "an HTML page saying why")
            }
            try await client.execute(uri: "/admin/stats/", method: .get, headers: gateway.staff()) { response in
                let html = String(buffer: response.body)
                #expect(html.components(separatedBy: "<svg").count - 1 == 4, "four charts drawn on the server")
            }
        }
    }
}

@Suite("Admin console: RFC 3339 times in filters")
struct StaffFilterTimeTests {
    @Test func anyFractionAnyOffsetAndPlainDates() throws {
        let parse = { (text: String) in StaffMediaFilter.parseRFC3339(text)?.date.timeIntervalSince1970 }
        #expect(parse("1970-01-02") == 86_400)
        #expect(parse("1970-01-01T01:00:00Z") == 3600)
        #expect(parse("1970-01-01T01:00:00.5z") == 3600.5)
        #expect(parse("1970-01-01T01:00:00+01:00") == 0)
        #expect(parse("1970-01-01 00:00:00-00:30") == 1800)
        #expect(parse("0379-09-14T23:43:38.94738+20:17") != nil, "what Schemathesis sent")
        #expect(StaffMediaFilter.parseRFC3339("2026-11-30")?.dateOnly == true)
        for bad in ["2026-02-30", "2026-13-01", "yesterday", "2026-11-30T25:00:00Z", "2026-11-30T10:00:00", "2026-11-30T10:00:00.Z", ""] {
            #expect(StaffMediaFilter.parseRFC3339(bad) == nil, "\(bad)")
        }
    }
}
