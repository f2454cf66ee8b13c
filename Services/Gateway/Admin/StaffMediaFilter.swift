import Foundation
import GatewayKit
import Hummingbird
import MediaDomain
import Persistence

/// The filters of every user's media (SPEC §7), read from a query string with one set of rules for the staff API
/// (`user`, `created_after`, `created_before`: ISO 8601 times or dates) and the list page (`owner`, `created_from`,
/// `created_to`: the page's date fields, `created_to` taking the whole day). Bad values are 400 `invalid_filter`.
package struct StaffMediaFilter {
    package var query = StaffMediaQuery()
    /// The filters as given, to carry into paging links.
    package var echoed: [(String, String)] = []

    package enum Dialect {
        case api, page

        package var owner: String { self == .api ? "user" : "owner" }
        package var after: String { self == .api ? "created_after" : "created_from" }
        package var before: String { self == .api ? "created_before" : "created_to" }
    }

    package init(_ params: [String: String], dialect: Dialect) throws(APIError) {
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

    /// An RFC 3339 time (any fraction, any offset), or a date (`YYYY-MM-DD`, UTC) meaning its start, or with `endOfDay`
    /// the start of the next day.
    package static func time(_ text: String, name: String, endOfDay: Bool) throws(APIError) -> Date {
        guard let parsed = parseRFC3339(text) else {
            throw APIError.badRequest("invalid_filter", "\(name) must be a date (2026-11-30) or an ISO 8601 time.")
        }
        return parsed.dateOnly && endOfDay ? parsed.date.addingTimeInterval(86_400) : parsed.date
    }

    /// `2026-11-30`, or `2026-11-30T12:00:00Z`, `…T12:00:00.123456+05:30` (`t`, `z` and a space as separator too).
    package static func parseRFC3339(_ text: String) -> (date: Date, dateOnly: Bool)? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var n = 0
            for i in from..<(from + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard b.count >= 10, let year = number(0, 4), b[4] == UInt8(ascii: "-"), let month = number(5, 2),
              b[7] == UInt8(ascii: "-"), let day = number(8, 2), (1...12).contains(month), day >= 1
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        guard let first = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
              let days = calendar.range(of: .day, in: .month, for: first), days.contains(day)
        else { return nil }
        var seconds = first.timeIntervalSince1970 + Double(day - 1) * 86_400
        if b.count == 10 { return (Date(timeIntervalSince1970: seconds), true) }
        guard b.count >= 20, [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]),
              let hour = number(11, 2), b[13] == UInt8(ascii: ":"), let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
              let second = number(17, 2), hour < 24, minute < 60, second <= 60
        else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + min(second, 59))
        var i = 19
        if b[i] == UInt8(ascii: ".") {
            var fraction = 0.0, scale = 0.1
            i += 1
            let start = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
            seconds += fraction
        }
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), i + 6 == b.count,
                  let oh = number(i + 1, 2), b[i + 3] == UInt8(ascii: ":"), let om = number(i + 4, 2), oh < 24, om < 60
            else { return nil }
            let offset = Double(oh * 3600 + om * 60)
            seconds += b[i] == UInt8(ascii: "+") ? -offset : offset
        }
        return (Date(timeIntervalSince1970: seconds), false)
    }
}

extension StaffMediaFilter {
    /// The query string's parameters as a dictionary, decoded as a form would send them (`+` is a space: a GET form's
    /// search box sends "two words" as `two+words`) by Hummingbird's `URLEncodedFormDecoder`; a name given twice, or
    /// as a list or map, is a 400.
    package static func parameters(_ request: Request) throws -> [String: String] {
        guard let query = request.uri.query, !query.isEmpty else { return [:] }
        do {
            return try URLEncodedFormDecoder().decode([String: String].self, from: query)
        } catch {
            throw APIError.badRequest("invalid_parameter", "The query string could not be read: \(error).")
        }
    }
}
