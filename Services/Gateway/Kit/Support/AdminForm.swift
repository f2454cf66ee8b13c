import Foundation
import Hummingbird

/// The fields of an `application/x-www-form-urlencoded` body (the admin pages' forms), in order; a name may repeat
/// (the list page's `ids` checkboxes).
struct FormFields: Sendable {
    var pairs: [(String, String)]

    init(pairs: [(String, String)]) {
        self.pairs = pairs
    }

    /// Parses `a=1&b=x+y&b=%C3%A9`.
    init(urlEncoded text: String) {
        pairs = text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
        }
    }

    /// The first value of `name`, blanks trimmed; nil when absent or empty.
    subscript(name: String) -> String? {
        guard let value = pairs.first(where: { $0.0 == name })?.1.trimmingCharacters(in: .whitespacesAndNewlines),
              !value.isEmpty
        else { return nil }
        return value
    }

    func all(_ name: String) -> [String] {
        pairs.filter { $0.0 == name }.map(\.1)
    }

    /// The largest form the admin pages send (a page of ids, a pasted token): anything bigger is refused.
    static let maxBytes = 64 * 1024

    /// Reads a request's form body: 415 for another content type, 413 beyond `maxBytes`.
    static func read(_ request: Request, context: GatewayRequestContext) async throws -> FormFields {
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
        return FormFields(urlEncoded: String(buffer: body))
    }
}
