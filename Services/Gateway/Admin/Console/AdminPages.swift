import Foundation
import GatewayKit
import HTTPTypes
import Hummingbird
import Logging
import Mustache

/// Renders the admin templates (`Templates/*.mustache`, embedded in the binary at build time by the EmbedFiles plugin)
/// into responses with the headers every admin page carries: HTML, never cached, never framed, and a content policy
/// that allows no inline script or style: the stylesheet and the one script are files of their own
/// (`/admin/assets/admin.css`, `/admin/assets/admin.js`).
package struct AdminPages: Sendable {
    package let library: MustacheLibrary

    package init() {
        var library = MustacheLibrary()
        for (file, text) in EmbeddedFiles.contents where file.hasSuffix(".mustache") {
            let name = String(file.dropLast(".mustache".count))
            do {
                try library.register(text, named: name)
            } catch {
                // The templates are files of this module, embedded at build time: a parse error is a programming error
                // caught by the tests, not a run-time condition.
                preconditionFailure("admin template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    /// `/admin/assets/<name>`: the stylesheet and the script, cacheable for a few minutes.
    package static func asset(_ name: String) -> Response? {
        let type: String
        switch name {
        case "admin.css": type = "text/css; charset=utf-8"
        case "admin.js": type = "text/javascript; charset=utf-8"
        default: return nil
        }
        guard let text = EmbeddedFiles.contents[name] else { return nil }
        var headers: HTTPFields = [.contentType: type, .cacheControl: "public, max-age=300"]
        headers.set("X-Content-Type-Options", "nosniff")
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The page `template` with `values`, plus the layout's values for `session` (user, CSRF token) and `nav`.
    package func render(_ template: String, _ values: [String: Any], session: AdminSession?, status: HTTPResponse.Status = .ok,
                title: String) -> Response {
        var context = values
        context["title"] = title
        context["page_name"] = template
        if let session {
            context["user"] = session.user.username
            context["csrf"] = session.csrfToken
        }
        let html = library.render(context, withTemplate: template) ?? "<!doctype html><title>Mediaflow admin</title><p>Page missing."
        return Self.htmlResponse(html, status: status)
    }

    package func login(status: HTTPResponse.Status, next: String, error: String?) -> Response {
        var values: [String: Any] = ["next": next.hasPrefix("/admin/") && !next.hasPrefix("/admin/log") ? next : "/admin/mediafiles/media/"]
        if let error { values["error"] = error }
        return render("login", values, session: nil, status: status, title: "Sign in")
    }

    package func message(status: HTTPResponse.Status, title: String, heading: String, text: String, session: AdminSession?,
                 back: String? = nil) -> Response {
        var values: [String: Any] = ["heading": heading, "text": text]
        if let back { values["back"] = back }
        return render("message", values, session: session, status: status, title: title)
    }

    package static func htmlResponse(_ html: String, status: HTTPResponse.Status) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
        ]
        headers.set("X-Frame-Options", "DENY")
        headers.set("X-Content-Type-Options", "nosniff")
        headers.set("Referrer-Policy", "same-origin")
        headers.set("Content-Security-Policy",
            "default-src 'self'; img-src * data:; media-src *; style-src 'self'; script-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// `303 See Other` to a page of the console (after a form: the browser then GETs it, and a reload does not post
    /// again).
    package static func redirect(to location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }
}

/// The admin pages answer errors as pages, not JSON: the same translation as the API (`APIErrorMiddleware`), shown
/// to a person with the status and the code.
package struct AdminErrorPageMiddleware: RouterMiddleware {
    package init(pages: AdminPages) {
        self.pages = pages
    }

    package typealias Context = GatewayRequestContext
    package let pages: AdminPages

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIErrorMiddleware<Context>.translate(error, logger: context.logger)
            var response = pages.message(
                status: apiError.status, title: apiError.status.reasonPhrase, heading: apiError.status.reasonPhrase,
                text: "\(apiError.detail) (\(apiError.code))", session: nil, back: "/admin/mediafiles/media/")
            for field in apiError.headers { response.headers.append(field) }
            return response
        }
    }
}
