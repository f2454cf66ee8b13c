import Foundation
import MediaDomain

/// The media object of SPEC §1.2, with absolute URLs. Optional fields are always present (as null).
package struct MediaResource {
    package let media: Media
    package let urls: [String: String?]
    package let displayURL: String
    package let thumbnailURL: String?

    package init(_ media: Media, links: MediaLinks) {
        self.media = media
        var urls: [String: String?] = [:]
        for name in RenditionCatalog.names(for: media.fileType) {
            urls.updateValue(media.renditions[name].map { links.fileURL(key: $0.key, media: media) }, forKey: name)
        }
        for name in RenditionCatalog.optionalNames(for: media.fileType) {
            if let r = media.renditions[name] { urls[name] = links.fileURL(key: r.key, media: media) }
        }
        let original = links.fileURL(key: media.storageKey, media: media)
        urls.updateValue(original, forKey: "original")
        self.urls = urls
        let display = RenditionCatalog.displayName(for: media.fileType)
        displayURL = media.status == .ready ? (urls[display] ?? nil) ?? original : original
        thumbnailURL = urls["thumbnail"] ?? nil
    }

    /// Written by hand with `JSONWriter` (every API answer that carries media goes through here; see
    /// JSONWriter for why not `JSONEncoder`). Keys in SPEC §1.2's order, `urls` sorted.
    package func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.int(media.id)
        w.key("user"); w.int(media.userId)
        w.key("user_username"); w.string(media.username)
        w.key("file_type"); w.string(media.fileType.rawValue)
        w.key("status"); w.string(media.status.rawValue)
        w.key("file_size"); w.int(media.fileSize)
        w.key("mime_type"); w.string(media.mimeType)
        w.key("original_filename"); w.string(media.originalFilename)
        w.key("display_url"); w.string(displayURL)
        w.key("thumbnail_url"); w.string(thumbnailURL)
        w.key("urls")
        w.beginObject()
        for (name, url) in urls.sorted(by: { $0.key < $1.key }) {
            w.key(name); w.string(url)
        }
        w.endObject()
        w.key("width"); w.int(media.width)
        w.key("height"); w.int(media.height)
        w.key("duration"); w.double(media.duration)
        w.key("bitrate"); w.int(media.bitrate)
        w.key("metadata"); w.object(media.metadata)
        w.key("is_public"); w.bool(media.isPublic)
        w.key("sha256"); w.string(media.sha256)
        w.key("created_at"); w.string(ISO8601.string(from: media.createdAt))
        w.key("updated_at"); w.string(ISO8601.string(from: media.updatedAt))
        w.endObject()
    }
}

/// Builds absolute URLs from the configured public base.
package struct MediaLinks: Sendable {
    package let baseURL: String
    package let signer: URLSigner
    /// When a URL is signed from: the clock, except in tests that show a webhook retry hours later signs afresh.
    package let now: @Sendable () -> Date

    package init(baseURL: String, signer: URLSigner, now: @escaping @Sendable () -> Date = { Date() }) {
        self.baseURL = baseURL
        self.signer = signer
        self.now = now
    }

    package func fileURL(key: String, media: Media) -> String {
        let url = "\(baseURL)/media/\(key)"
        return media.isPublic ? url : "\(url)?\(signer.query(for: key, now: now()))"
    }

    package func apiURL(_ path: String, query: [(String, String)]) -> String {
        guard !query.isEmpty else { return baseURL + path }
        let encoded = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }
        return baseURL + path + "?" + encoded.joined(separator: "&")
    }
}
