import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What every admin console test does first: post the login form and read the session's CSRF token off a page.
protocol AdminConsoleSignIn {}

extension AdminConsoleSignIn {
    var formType: HTTPFields { [.contentType: "application/x-www-form-urlencoded"] }

    func form(_ pairs: [(String, String)]) -> ByteBuffer {
        ByteBuffer(string: pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            .joined(separator: "&"))
    }

    /// Signs in through the login form; returns the session cookie (`name=value`) and the page's CSRF token.
    func signIn(_ client: any TestClientProtocol, token: String) async throws -> (cookie: String, csrf: String) {
        let setCookie = try await client.execute(
            uri: "/admin/login", method: .post, headers: formType, body: form([("token", token)])
        ) { response -> String in
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/admin/mediafiles/media/")
            return response.headers[.setCookie] ?? ""
        }
        let cookie = String(setCookie.split(separator: ";").first ?? "")
        let csrf = try await client.execute(uri: "/admin/janitor/", method: .get, headers: [.cookie: cookie]) { response -> String in
            #expect(response.status == .ok)
            let html = String(buffer: response.body)
            guard let range = html.range(of: #"name="csrf_token" value=""#) else { return "" }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
        return (cookie, csrf)
    }
}
