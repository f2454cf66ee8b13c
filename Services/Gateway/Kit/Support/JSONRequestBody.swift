import Hummingbird
import NIOCore
import MediaDomain

/// Reads a small JSON request body (PATCH, the staff API's POSTs) strictly: JSON content only, a size limit, an
/// object at the top, and field readers that say which field is wrong. Every refusal is a 4xx with a code, so a
/// client that sends the wrong shape learns it instead of getting a silent no-op.
package struct JSONRequestBody {
    package let fields: [String: JSONValue]

    /// Refuses another content type (415), a body over `limit` bytes (413), text that is not JSON (400
    /// `invalid_json`) and JSON that is not an object (400 `invalid_request`). No `Content-Type` is read as JSON.
    package init(_ request: Request, limit: Int = 64 * 1024, example: String) async throws {
        if let type = request.headers[.contentType], !Self.isJSON(type) {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           detail: "Send the body as application/json, such as \(example).")
        }
        var body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge(limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        }
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        let value: JSONValue
        do {
            value = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        } catch {
            throw APIError.badRequest("invalid_json", "The body is not valid JSON (\(error)); send an object such as \(example).")
        }
        guard case .object(let fields) = value else {
            throw APIError.badRequest("invalid_request", "The body must be a JSON object, such as \(example).")
        }
        self.fields = fields
    }

    package static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "request_too_large", detail: "The body is larger than \(limit) bytes.")
    }

    package static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// A boolean field; `required` makes its absence an error. `null` is never a boolean.
    package func bool(_ name: String, required: Bool) throws(APIError) -> Bool? {
        guard let value = fields[name] else {
            if required { throw APIError.badRequest("invalid_request", "The field '\(name)' is required (true or false).") }
            return nil
        }
        guard case .bool(let flag) = value else {
            throw APIError.badRequest("invalid_request", "The field '\(name)' must be true or false.")
        }
        return flag
    }

    /// A string field of 1 to `maxLength` characters (`null` is not a string).
    package func string(_ name: String, required: Bool, maxLength: Int = 255) throws(APIError) -> String? {
        guard let value = fields[name] else {
            if required { throw APIError.badRequest("invalid_request", "The field '\(name)' is required.") }
            return nil
        }
        guard case .string(let text) = value, !text.isEmpty, text.count <= maxLength, !text.contains("\u{0}") else {
            throw APIError.badRequest(
                "invalid_request", "The field '\(name)' must be a string of 1 to \(maxLength) characters (no NUL).")
        }
        return text
    }

    /// A non-empty array of such strings. NUL is refused here because PostgreSQL's text cannot hold it: before, an
    /// `event_ids` item with a NUL reached the database and came back as a 500.
    package func strings(_ name: String, required: Bool, maxLength: Int = 255) throws(APIError) -> [String]? {
        guard let value = fields[name] else {
            if required { throw APIError.badRequest("invalid_request", "The field '\(name)' is required.") }
            return nil
        }
        let refusal = APIError.badRequest(
            "invalid_request", "The field '\(name)' must be a non-empty array of strings of 1 to \(maxLength) characters.")
        guard case .array(let items) = value, !items.isEmpty else { throw refusal }
        var texts: [String] = []
        for item in items {
            guard case .string(let text) = item, !text.isEmpty, text.count <= maxLength, !text.contains("\u{0}") else {
                throw refusal
            }
            texts.append(text)
        }
        return texts
    }
}
