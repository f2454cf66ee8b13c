import Foundation
import MediaDomain
import NIOCore
import Persistence

/// What a media event says, in the two forms SPEC §8 sends it: an SSE frame on the stream, and a webhook's body.
/// Both carry the same `data`: the media object, `{id, percent}` for progress, or `{id}` when no row was kept.
package enum MediaEventPayload {
    package static func data(_ record: MediaEventRecord, links: MediaLinks) -> [UInt8] {
        var w = JSONWriter()
        if record.type == MediaEvents.progress {
            w.beginObject()
            w.key("id"); w.int(record.mediaId)
            w.key("percent"); w.double(record.percent ?? 0)
            w.endObject()
        } else if let media = record.media {
            MediaResource(media, links: links).write(to: &w)
        } else {
            w.beginObject()
            w.key("id"); w.int(record.mediaId)
            w.endObject()
        }
        return w.bytes
    }

    /// `id`, `event` (the type) and one `data` line of JSON.
    package static func sseFrame(_ record: MediaEventRecord, links: MediaLinks) -> ByteBuffer {
        ByteBuffer(string: "id: \(record.position)\nevent: \(record.type)\ndata: \(String(decoding: data(record, links: links), as: UTF8.self))\n\n")
    }

    /// `{type, timestamp, data}`.
    package static func webhookBody(_ record: MediaEventRecord, links: MediaLinks) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string(record.type)
        w.key("timestamp"); w.string(ISO8601.string(from: record.createdAt))
        w.key("data"); w.raw(data(record, links: links))
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
