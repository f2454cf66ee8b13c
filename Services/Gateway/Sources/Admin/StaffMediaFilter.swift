import Foundation
import Hummingbird
import MediaDomain
import Persistence

/// The filters of every user's media (SPEC §7), read from a query string with one set of rules for the staff API
/// (`user`, `created_after`, `created_before`: ISO 8601 times or dates) and the list page (`owner`, `created_from`,
/// `created_to`: the page's date fields, `created_to` taking the whole day). Bad values are 400 `invalid_filter`.
struct StaffMediaFilter {
    var query = StaffMediaQuery()
    /// The filters as given, to carry into paging links.
    var echoed: [(String, String)] = []

    enum Dialect {
        case api, page

        var owner: String { self == .api ? "user" : "owner" }
        var after: String { self == .api ? "created_after" : "created_from" }
        var before: String { self == .api ? "created_before" : "created_to" }
    }

    init(_ params: [String: String], dialect: Dialect) throws(APIError) {
        func value(_ name: String) -> String? {
            guard let v = params[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            echoed.append((name, v))
            return v
        }
        if let t = value("type") {
            guard let type = FileType(rawValue: t) else {
                throw APIError.badRequest("invalid_filter", "Unknown type '\(t)': use image, video or audio.")
            }
            query.fileType = type
        }
        if let s = value("status") {
            guard let status = MediaStatus(rawValue: s) else {
                throw APIError.badRequest("invalid_filter", "Unknown status '\(s)': use uploading, processing, ready or failed.")
            }
            query.status = status
        }
        if let u = value(dialect.owner) {
            guard let id = Int64(u), id > 0 else {
                throw APIError.badRequest("invalid_filter", "\(dialect.owner) must be a user id (a positive integer).")
            }
            query.userId = id
        }
        if let q = value("q") {
            guard q.count <= 200 else { throw APIError.badRequest("invalid_filter", "q is at most 200 characters.") }
            // PostgreSQL text holds no NUL, and no file name holds a control character.
            guard !q.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw APIError.badRequest("invalid_filter", "q must not contain control characters.")
            }
            query.search = q
        }
        if let a = value(dialect.after) {
            query.createdAfter = try Self.time(a, name: dialect.after, endOfDay: false)
        }
        if let b = value(dialect.before) {
            query.createdBefore = try Self.time(b, name: dialect.before, endOfDay: dialect == .page)
        }
    }

    /// An ISO 8601 time, or a date (`YYYY-MM-DD`, UTC) meaning its start, or with `endOfDay` the start of the next day.
    static func time(_ text: String, name: String, endOfDay: Bool) throws(APIError) -> Date {
        if text.count == 10, let day = ISO8601.date(from: text + "T00:00:00Z") {
            return endOfDay ? day.addingTimeInterval(86_400) : day
        }
        if let time = ISO8601.date(from: text) { return time }
        throw APIError.badRequest("invalid_filter", "\(name) must be a date (2026-11-30) or an ISO 8601 time.")
    }
}

extension StaffMediaFilter {
    /// The query string's parameters as a dictionary (the first of a repeated name), decoded as a form would send
    /// them (`+` is a space: a GET form's search box sends "two words" as `two+words`).
    static func parameters(_ request: Request) -> [String: String] {
        var params: [String: String] = [:]
        for (key, value) in FormFields(urlEncoded: request.uri.query ?? "").pairs where params[key] == nil {
            params[key] = value
        }
        return params
    }
}
