import MediaDomain

/// Page-number pagination, one implementation for every list the Gateway serves (SPEC §1.3, DRF's shape): `page` and
/// `page_size` read and checked, the offset to query, and the links to the neighbouring pages. A list names only its
/// path and the filters its links must carry.
package struct Pagination: Sendable {
    package let page: Int
    package let size: Int
    /// Whether the request gave `page_size` (then every link carries it).
    package let sizeGiven: Bool

    package var offset: Int { (page - 1) * size }

    /// `page` and `page_size` from a query: positive integers, `page_size` capped at `maxSize`; 400
    /// `invalid_parameter` otherwise.
    package init(page: String?, pageSize: String?, defaultSize: Int = 20, maxSize: Int = 100) throws {
        self.page = try Self.positiveInt(page, name: "page", default: 1)
        size = min(try Self.positiveInt(pageSize, name: "page_size", default: defaultSize), maxSize)
        sizeGiven = !(pageSize ?? "").isEmpty
    }

    /// A fixed page size (the admin console's pages).
    package init(page: String?, size: Int) throws {
        self.page = try Self.positiveInt(page, name: "page", default: 1)
        self.size = size
        sizeGiven = false
    }

    /// The pages of `count` items (at least one, empty).
    package func pages(of count: Int) -> Int { max(1, (count + size - 1) / size) }

    /// 404 `invalid_page` when the page is past the last of `count` items (the API's rule; the console shows an empty
    /// page instead).
    package func requireExists(count: Int) throws {
        guard page <= pages(of: count) else { throw APIError(.notFound, code: "invalid_page", detail: "Invalid page.") }
    }

    /// The query of page `number` with `filters`: `page` first, then the filters, then `page_size` when given.
    package func query(_ number: Int, filters: [(String, String)], pageOne: Bool = true) -> [(String, String)] {
        (pageOne || number > 1 ? [("page", String(number))] : []) + filters + (sizeGiven ? [("page_size", String(size))] : [])
    }

    /// The next and previous links of this page of `count` items, each made by `link` from a page number.
    package func neighbours(count: Int, link: (Int) -> String) -> (next: String?, previous: String?) {
        (page < pages(of: count) ? link(page + 1) : nil, page > 1 ? link(page - 1) : nil)
    }

    /// `{count, next, previous, results}`, the results written by `results` (into the open array).
    package static func write(
        to w: inout JSONWriter, count: Int, next: String?, previous: String?, results: (inout JSONWriter) -> Void
    ) {
        w.key("count"); w.int(count)
        w.key("next"); w.string(next)
        w.key("previous"); w.string(previous)
        w.key("results")
        w.beginArray()
        results(&w)
        w.endArray()
    }

    package static func positiveInt(_ text: String?, name: String, default fallback: Int) throws -> Int {
        guard let text, !text.isEmpty else { return fallback }
        guard let value = Int(text), value >= 1, value <= 1_000_000 else {
            throw APIError.badRequest("invalid_parameter", "\(name) must be a positive integer.")
        }
        return value
    }
}
