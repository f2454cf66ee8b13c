import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body posted by the admin pages, read once (the CSRF check reads it before the
/// route does) and decoded by each route into a `Decodable` form of its own with Hummingbird's
/// `URLEncodedFormDecoder`. A name that repeats (the list's checkboxes) is sent as `ids[]`.
package struct AdminForm: Sendable {
    package let body: String

    package init(body: String) {
        self.body = body
    }

    /// The form as `Form`: 400 `invalid_request` saying what did not fit.
    package func decode<Form: Decodable>(_ type: Form.Type) throws -> Form {
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: body)
        } catch {
            throw APIError.badRequest("invalid_request", "The form could not be read: \(error).")
        }
    }

    /// The largest form the admin pages send (a page of ids, a pasted token): anything bigger is refused.
    package static let maxBytes = 64 * 1024

    /// Reads a request's form body: 415 for another content type, 413 beyond `maxBytes`.
    package static func read(_ request: Request, context: GatewayRequestContext) async throws -> AdminForm {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           detail: "Admin forms are sent as application/x-www-form-urlencoded.")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw APIError(.contentTooLarge, code: "request_too_large", detail: "The form is larger than \(maxBytes / 1024) KB.")
        }
        return AdminForm(body: String(buffer: body))
    }
}

extension Optional where Wrapped == String {
    /// The text with blanks trimmed; nil when absent or empty (a form's empty field is no value).
    package var nonBlank: String? {
        guard let text = self?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }
}
