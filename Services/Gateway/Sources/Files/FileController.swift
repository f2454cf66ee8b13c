import Foundation
import Hummingbird
import MediaDomain
import Persistence
import Storage

/// `GET /media/<key>`: stored files with Content-Type, ETag, Range and caching (SPEC §1.4).
/// Public media's files are open to anyone; private media's need a valid signature. Anything else,
/// including a key that tries to leave the storage root, is 404.
struct FileController: Sendable {
    let repository: any MediaRepository
    let storage: any BlobStorage
    let signer: URLSigner
    /// `MEDIA_FILES_REDIRECT`: send clients to the object store instead of streaming (SPEC §9).
    var redirect = false
    var cdnBaseURL: String?

    func addRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/media/**", use: serve)
        router.head("/media/**", use: serve)
        router.methodNotAllowed("/media/**", allow: [.get, .head])
    }

    @Sendable func serve(_ request: Request, context: GatewayRequestContext) async throws -> Response {
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
        if redirect {
            let signedUntil = request.uri.queryParameters["exp"].flatMap { Int(String($0)) }
            if let (target, expires) = redirectTarget(key: key, media: media, signedUntil: signedUntil) {
                return Response(status: .found, headers: [
                    .location: target,
                    .cacheControl: media.isPublic ? "public, max-age=\(min(300, expires))" : "private, no-store",
                ])
            }
        }
        guard let info = try await storage.info(key: key) else { throw APIError.notFound() }

        let etag = "\"\(String(info.size, radix: 16))-\(String(Int64(info.modified.timeIntervalSince1970 * 1000), radix: 16))\""
        var headers: HTTPFields = [
            .contentType: MediaFormat.contentType(ofKey: key),
            .eTag: etag,
            .acceptRanges: "bytes",
        ]
        // Rendition keys change whenever they are remade, so they can be cached for good; the original keeps
        // its key for the life of the media.
        let isRendition = key != media.storageKey
        let scope = media.isPublic ? "public" : "private"
        headers[.cacheControl] = isRendition ? "\(scope), max-age=31536000, immutable" : "\(scope), max-age=3600"

        if let inm = request.headers[.ifNoneMatch], inm.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*"
        }) {
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
                try await storage.read(key: key, range: readRange, chunkSize: 256 * 1024) { chunk in
                    try await writer.write(chunk)
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

    /// Where a redirect sends the client and for how many seconds that answer holds: the CDN for public media when
    /// one is configured, else a presigned URL (nil when the store has none: the file is streamed). A private file's
    /// presigned URL ends when the signed URL it was asked with does (`signedUntil`, its checked `exp`), so trading
    /// a signed URL for a presigned one never extends access; a public file's lasts `MEDIA_SIGNED_URL_TTL`.
    func redirectTarget(key: String, media: Media, signedUntil: Int?, now: Date = Date()) -> (String, Int)? {
        if media.isPublic, let cdnBaseURL { return ("\(cdnBaseURL)/\(key)", 300) }
        let lifetime = media.isPublic ? signer.lifetime : (signedUntil ?? 0) - Int(now.timeIntervalSince1970)
        guard lifetime > 0 else { return nil }
        // S3 refuses presigned URLs valid for more than seven days.
        let expires = min(lifetime, 604_800)
        return storage.presignedURL(key: key, expires: expires).map { ($0, expires) }
    }

    /// A single `bytes=` range (first-last, first-, -suffix) clamped to the file; nil when unsatisfiable.
    static func parseRange(_ header: String, size: Int64) -> Range<Int64>? {
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
    static func ifRangeMatches(_ request: Request, etag: String) -> Bool {
        guard let ifRange = request.headers[.ifRange] else { return true }
        return ifRange == etag
    }
}
