import Foundation
import GatewayKit
import Hummingbird
import MediaDomain
import Persistence
import Storage
import Synchronization
import Tokens

/// `GET /media/<key>`: stored files with Content-Type, ETag, Range and caching (SPEC §1.4).
/// Public media's files are open to anyone; private media's need a valid signature. Anything else,
/// including a key that tries to leave the storage root, is 404.
///
/// An image's or video's original is served without its location (SPEC §10) to anyone but its owner (a request with
/// the owner's bearer token gets the file as uploaded): same-length patches blank EXIF/XMP GPS and QuickTime location
/// atoms as the bytes stream (`LocationScrubber`), so ranges and lengths are those of the stored file. The patches of
/// each original are found once (a ranged read of its metadata) and kept.
package struct FileController: Sendable {
    package let repository: any MediaRepository
    package let storage: any BlobStorage
    package let signer: URLSigner
    package let authenticator: JWTAuthenticator
    package let locations = LocationPatchCache()
    /// `MEDIA_FILES_REDIRECT`: send clients to the object store instead of streaming (SPEC §9).
    package var redirect = false
    package var cdnBaseURL: String?

    package init(
        repository: any MediaRepository, storage: any BlobStorage, signer: URLSigner, authenticator: JWTAuthenticator,
        redirect: Bool = false, cdnBaseURL: String? = nil
    ) {
        self.repository = repository
        self.storage = storage
        self.signer = signer
        self.authenticator = authenticator
        self.redirect = redirect
        self.cdnBaseURL = cdnBaseURL
    }

    package func addRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/media/**", use: serve)
        router.head("/media/**", use: serve)
        router.methodNotAllowed("/media/**", allow: [.get, .head])
    }

    @Sendable package func serve(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let key = context.parameters.getCatchAll().joined(separator: "/")
        guard StorageKey.isValid(key), let folder = StorageKeys.mediaFolder(of: key) else { throw APIError.notFound() }
        guard let media = try await repository.find(storagePrefix: folder) else {
            throw APIError.notFound()
        }
        if !media.isPublic {
            let q = request.uri.queryParameters
            guard signer.isValid(key: key, exp: q["exp"].map(String.init), sig: q["sig"].map(String.init)) else {
                throw APIError.notFound()
            }
        }
        let isOriginal = key == media.storageKey
        // The location stays for the owner only; everyone else gets it blanked.
        let isOwner = (try? authenticator.user(of: request))?.id == media.userId
        let patches = isOriginal && !isOwner ? try await locationPatches(key: key, media: media) : []
        if redirect, patches.isEmpty {
            let signedUntil = request.uri.queryParameters["exp"].flatMap { Int(String($0)) }
            if let (target, expires) = redirectTarget(key: key, media: media, signedUntil: signedUntil) {
                return Response(status: .found, headers: [
                    .location: target,
                    .cacheControl: media.isPublic ? "public, max-age=\(min(300, expires))" : "private, no-store",
                ])
            }
        }
        return try await stream(key: key, media: media, patches: patches, request: request, context: context)
    }

    /// Answers `request` with the stored file `key` of `media`: ETag (and 304), Range (and 206/416), `Cache-Control`
    /// (a year and immutable for everything but the original, whose key lives as long as the media), streamed in
    /// chunks with `patches` applied. Shared by `/media/` and the transform variants of `/img/` (SPEC §12).
    package func stream(
        key: String, media: Media, patches: [LocationScrubber.Patch] = [], extraHeaders: HTTPFields = [:],
        request: Request, context: GatewayRequestContext
    ) async throws -> Response {
        let isOriginal = key == media.storageKey
        guard let info = try await storage.info(key: key) else { throw APIError.notFound() }

        // The copy without location is another representation: another ETag.
        let etag = Self.etag(info, suffix: patches.isEmpty ? "" : "-nl")
        var headers: HTTPFields = [
            .contentType: MediaFormat.contentType(ofKey: key),
            .eTag: etag,
            .acceptRanges: "bytes",
        ]
        if isOriginal { headers[.vary] = "Authorization" }
        for field in extraHeaders { headers[field.name] = field.value }
        // Rendition keys change whenever they are remade, so they can be cached for good; the original keeps
        // its key for the life of the media.
        let isRendition = key != media.storageKey
        let scope = media.isPublic ? "public" : "private"
        headers[.cacheControl] = isRendition ? "\(scope), max-age=31536000, immutable" : "\(scope), max-age=3600"

        if Self.notModified(request, etag: etag) {
            return Response(status: .notModified, headers: headers)
        }

        var range: Range<Int64>? = nil
        var status = HTTPResponse.Status.ok
        if let rangeHeader = request.headers[.range], Self.ifRangeMatches(request, etag: etag) {
            guard let r = Self.parseRange(rangeHeader, size: info.size) else {
                headers[.contentRange] = "bytes */\(info.size)"
                throw APIError(.rangeNotSatisfiable, code: "range_not_satisfiable",
                               detail: "The requested range is not satisfiable.", headers: headers)
            }
            range = r
            status = .partialContent
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(info.size)"
        }
        let length = range.map { $0.upperBound - $0.lowerBound } ?? info.size
        headers[.contentLength] = String(length)
        if request.method == .head { return Response(status: status, headers: headers) }
        let storage = self.storage
        // Always a bounded range: a file that turns out shorter than `Content-Length` promised fails the read, and
        // so the response (the connection is closed), instead of ending early as if it were complete.
        let readRange = range ?? 0..<info.size
        let logger = context.logger
        let body = ResponseBody(contentLength: Int(length)) { writer in
            do {
                var offset = readRange.lowerBound
                try await storage.read(key: key, range: readRange, chunkSize: 256 * 1024) { chunk in
                    let chunkOffset = offset
                    offset += Int64(chunk.readableBytes)
                    guard patches.contains(where: {
                        $0.offset < chunkOffset + Int64(chunk.readableBytes) && $0.offset + Int64($0.bytes.count) > chunkOffset
                    }) else { return try await writer.write(chunk) }
                    var bytes = Array(chunk.readableBytesView)
                    LocationScrubber.apply(patches, to: &bytes, at: chunkOffset)
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
            } catch let error as StorageError {
                // The status line is already sent: all that is left is to cut the connection short.
                logger.error("file read failed mid-response; connection closed", metadata: [
                    "key": "\(key)", "error": "\(error)",
                ])
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// The patches that blank the location of `media`'s original (none for audio and formats without any), found once.
    package func locationPatches(key: String, media: Media) async throws -> [LocationScrubber.Patch] {
        guard media.fileType != .audio else { return [] }
        if let known = locations.patches(for: key) { return known }
        guard let info = try await storage.info(key: key) else { return [] }
        let storage = self.storage
        let patches = try await LocationScrubber.patches(format: media.format, size: info.size) { offset, length in
            guard length > 0, offset < info.size else { return [] }
            var bytes: [UInt8] = []
            try await storage.read(key: key, range: offset..<min(info.size, offset + Int64(length)), chunkSize: 1 << 20) {
                bytes += $0.readableBytesView
            }
            return bytes
        }
        locations.remember(patches, for: key)
        return patches
    }

    /// Where a redirect sends the client and for how many seconds that answer holds: the CDN for public media when
    /// one is configured, else a presigned URL (nil when the store has none: the file is streamed). A private file's
    /// presigned URL ends when the signed URL it was asked with does (`signedUntil`, its checked `exp`), so trading
    /// a signed URL for a presigned one never extends access; a public file's lasts `MEDIA_SIGNED_URL_TTL`.
    package func redirectTarget(key: String, media: Media, signedUntil: Int?, now: Date = Date()) -> (String, Int)? {
        if media.isPublic, let cdnBaseURL { return ("\(cdnBaseURL)/\(key)", 300) }
        let lifetime = media.isPublic ? signer.lifetime : (signedUntil ?? 0) - Int(now.timeIntervalSince1970)
        guard lifetime > 0 else { return nil }
        // S3 refuses presigned URLs valid for more than seven days.
        let expires = min(lifetime, 604_800)
        return storage.presignedURL(key: key, expires: expires).map { ($0, expires) }
    }

    /// A stored file's ETag: its size and modification time (every Gateway gives the same one).
    package static func etag(_ info: BlobInfo, suffix: String = "") -> String {
        "\"\(String(info.size, radix: 16))-\(String(Int64(info.modified.timeIntervalSince1970 * 1000), radix: 16))\(suffix)\""
    }

    /// Whether `If-None-Match` names `etag` (or `*`).
    package static func notModified(_ request: Request, etag: String) -> Bool {
        guard let inm = request.headers[.ifNoneMatch] else { return false }
        return inm.split(separator: ",").contains {
            $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*"
        }
    }

    /// A single `bytes=` range (first-last, first-, -suffix) clamped to the file; nil when unsatisfiable.
    package static func parseRange(_ header: String, size: Int64) -> Range<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix > 0 else { return nil }
            return max(0, size - suffix)..<size
        }
        guard let start = Int64(first), start < size else { return nil }
        if last.isEmpty { return start..<size }
        guard let end = Int64(last), end >= start else { return nil }
        return start..<(min(end, size - 1) + 1)
    }

    /// `If-Range`: serve the range only if the client's copy is still current.
    package static func ifRangeMatches(_ request: Request, etag: String) -> Bool {
        guard let ifRange = request.headers[.ifRange] else { return true }
        return ifRange == etag
    }
}

/// The location patches of originals already looked at, by key (an original never changes under its key). Bounded:
/// when full it starts over, and a miss costs one ranged read of a file's metadata.
package final class LocationPatchCache: Sendable {
    private let entries = Mutex<[String: [LocationScrubber.Patch]]>([:])
    package static let capacity = 4096

    package init() {}

    package func patches(for key: String) -> [LocationScrubber.Patch]? { entries.withLock { $0[key] } }

    package func remember(_ patches: [LocationScrubber.Patch], for key: String) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = patches
        }
    }
}
