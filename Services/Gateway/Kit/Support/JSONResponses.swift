import Foundation
import Hummingbird
import MediaDomain
import NIOCore

/// One page of the list (SPEC §1.3), DRF's shape.
package struct Page {
    package init(count: Int, next: String? = nil, previous: String? = nil, results: [MediaResource]) {
        self.count = count
        self.next = next
        self.previous = previous
        self.results = results
    }

    package var count: Int
    package var next: String?
    package var previous: String?
    package var results: [MediaResource]

    package func write(to w: inout JSONWriter) {
        w.beginObject()
        Pagination.write(to: &w, count: count, next: next, previous: previous) { w in
            for media in results { media.write(to: &w) }
        }
        w.endObject()
    }
}

/// A media answer (detail, upload, PATCH, reprocess).
package func json(_ resource: MediaResource, status: HTTPResponse.Status = .ok) -> Response {
    var writer = JSONWriter()
    resource.write(to: &writer)
    return jsonResponse(writer, status: status)
}

/// A page of the list.
package func json(_ page: Page, status: HTTPResponse.Status = .ok) -> Response {
    var writer = JSONWriter(capacity: 1024 * (page.results.count + 1))
    page.write(to: &writer)
    return jsonResponse(writer, status: status)
}

/// A response of what `writer` wrote.
package func jsonResponse(_ writer: JSONWriter, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
}

/// A JSON response of any other value.
package func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = try encoder.encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// The media id of a route's `{id}` (a positive integer; 404 otherwise).
package enum RouteParameters {
    /// The route's `:id` (a media, webhook, session…): a positive integer, else 404 as for an id that names nothing.
    package static func id(_ context: GatewayRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else { throw APIError.notFound() }
        return id
    }
}
