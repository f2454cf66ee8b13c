import Foundation
import MediaDomain

/// The media object of SPEC §1.2, with absolute URLs. Optional fields are always present (as null).
struct MediaResource: Encodable {
    let media: Media
    let urls: [String: String?]
    let displayURL: String
    let thumbnailURL: String?

    init(_ media: Media, links: MediaLinks) {
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

    enum CodingKeys: String, CodingKey {
        case id, user, userUsername = "user_username", fileType = "file_type", status, fileSize = "file_size"
        case mimeType = "mime_type", originalFilename = "original_filename", displayURL = "display_url"
        case thumbnailURL = "thumbnail_url", urls, width, height, duration, bitrate, metadata
        case isPublic = "is_public", createdAt = "created_at", updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(media.id, forKey: .id)
        try c.encode(media.userId, forKey: .user)
        try c.encode(media.username, forKey: .userUsername)
        try c.encode(media.fileType, forKey: .fileType)
        try c.encode(media.status, forKey: .status)
        try c.encode(media.fileSize, forKey: .fileSize)
        try c.encode(media.mimeType, forKey: .mimeType)
        try c.encode(media.originalFilename, forKey: .originalFilename)
        try c.encode(displayURL, forKey: .displayURL)
        try c.encode(thumbnailURL, forKey: .thumbnailURL)
        try c.encode(urls, forKey: .urls)
        try c.encode(media.width, forKey: .width)
        try c.encode(media.height, forKey: .height)
        try c.encode(media.duration, forKey: .duration)
        try c.encode(media.bitrate, forKey: .bitrate)
        try c.encode(media.metadata, forKey: .metadata)
        try c.encode(media.isPublic, forKey: .isPublic)
        try c.encode(ISO8601.string(from: media.createdAt), forKey: .createdAt)
        try c.encode(ISO8601.string(from: media.updatedAt), forKey: .updatedAt)
    }
}

/// Builds absolute URLs from the configured public base.
struct MediaLinks: Sendable {
    let baseURL: String
    let signer: URLSigner

    func fileURL(key: String, media: Media) -> String {
        let url = "\(baseURL)/media/\(key)"
        return media.isPublic ? url : "\(url)?\(signer.query(for: key))"
    }

    func apiURL(_ path: String, query: [(String, String)]) -> String {
        guard !query.isEmpty else { return baseURL + path }
        let encoded = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }
        return baseURL + path + "?" + encoded.joined(separator: "&")
    }
}
