import Foundation
import GatewayAPI
import GatewayKit
import Hummingbird
import Imaging
import Logging
import MediaDomain
import Metrics
import NIOCore
import Persistence
import ServiceKit
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// Transforms on request (SPEC §12): `GET /img/<signature>/<options>/<id>.<format>` and
/// `POST /api/media/{id}/transform-url/`.
///
/// A request is checked in full before anything is read: the options (400 `invalid_option`), the signature over
/// `<options>/<id>.<format>[?exp=<n>]` (403 `invalid_signature`), the expiry (403 `url_expired`), then the media
/// (404 unless ready; another's private media is reachable only through a URL its owner's app signed). A variant is
/// stored under the media's generation folder (`g<n>/variants/`), so a reprocess or a deletion takes it along with
/// the renditions; once stored it is served like any rendition (ETag, Range, a year's `Cache-Control`), counted in its
/// owner's quota as a ledger row of kind `variant`, and removed by the Janitor once nobody fetched it for
/// `MEDIA_VARIANT_RETENTION` (fetch times are written a batch a minute, `VariantFetchLog`). Small variants a Gateway
/// has served stay in its memory (`VariantMemoryCache`): a popular one costs no storage read.
///
/// Renders run in this process on their own threads at a lower CPU priority (nice 10): the event loops answering
/// the API preempt them, so a storm of new variants slows renders, not the API (the bench's storm row measures it).
/// Each render reads the smallest stored picture that is at least the output's size (a rendition when one is
/// large enough, else the original) and shrinks it while decoding it.
package struct TransformController: Sendable {
    package let repository: any MediaRepository
    package let storage: any BlobStorage
    package let files: FileController
    /// Nil without `MEDIA_TRANSFORM_KEY`: `/img/` answers 404 and `transform-url` 501.
    package let signer: TransformSigner?
    package let baseURL: String
    /// How long a private media's transform URL is valid (`MEDIA_SIGNED_URL_TTL`).
    package let privateURLLifetime: Int
    package let renders: TransformRenders
    package let pool: BlockingWorkPool
    package let limits: ImageProcessingLimits
    /// The ledger's variant rows (the owner's quota, `MEDIA_VARIANT_RETENTION`) and the batched fetch times.
    package let variants: any VariantStore
    package let fetches: VariantFetchLog
    /// Small stored variants this Gateway has served, answered without a trip to storage.
    package let memory = VariantMemoryCache()

    package init(
        repository: any MediaRepository, storage: any BlobStorage, files: FileController, signer: TransformSigner?,
        baseURL: String, privateURLLifetime: Int, concurrency: Int, maxPixels: Int64, variants: any VariantStore
    ) {
        self.repository = repository
        self.storage = storage
        self.variants = variants
        fetches = VariantFetchLog(store: variants)
        self.files = files
        self.signer = signer
        self.baseURL = baseURL
        self.privateURLLifetime = privateURLLifetime
        renders = TransformRenders(concurrency: concurrency)
        pool = BlockingWorkPool(threads: max(1, concurrency), name: "transform")
        limits = ImageProcessingLimits(maxPixels: Int(maxPixels))
    }

    package func addRoutes(to router: Router<GatewayRequestContext>, media: RouterGroup<GatewayRequestContext>) {
        router.get("/img/:signature/:options/:file", use: image)
        router.methodNotAllowed("/img/:signature/:options/:file", allow: [.get, .head])
        media.post(":id/transform-url", use: transformURL)
        media.methodNotAllowed(":id/transform-url", allow: [.post])
    }

    // MARK: GET /img/

    @Sendable package func image(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let signer else { throw APIError.notFound() }
        // Path segments arrive as sent: a client (or its URL library) may percent-encode the commas. Decoded here, so
        // an encoded slash becomes a slash, which no option allows.
        guard let signature = context.parameters.get("signature")?.removingPercentEncoding,
              let optionsText = context.parameters.get("options")?.removingPercentEncoding,
              let file = context.parameters.get("file")?.removingPercentEncoding
        else { throw APIError.invalidOption("the URL's path is not valid percent-encoding") }
        let options = try TransformOptions.parse(optionsText)
        let (id, format) = try Self.parseFile(file)
        let expText = request.uri.queryParameters["exp"].map(String.init)
        if let expText, expText.isEmpty || !expText.allSatisfy({ ("0"..."9").contains($0) }) || expText.count > 12 {
            throw APIError.invalidOption("exp must be a time in whole seconds since 1970")
        }
        let signedPath = "\(optionsText)/\(file)" + (expText.map { "?exp=\($0)" } ?? "")
        guard signer.verify(signature, path: signedPath) else {
            throw APIError(.forbidden, code: "invalid_signature", detail: "The signature does not match this URL.")
        }
        if let exp = expText.flatMap(Int.init), exp < Int(Date().timeIntervalSince1970) {
            throw APIError(.forbidden, code: "url_expired", detail: "This URL expired at \(exp) (seconds since 1970).")
        }
        guard let media = try await repository.find(id: id), media.status == .ready else { throw APIError.notFound() }
        if !media.isPublic && expText == nil {
            throw APIError(.forbidden, code: "invalid_signature",
                           detail: "A private media's transform URL carries ?exp=; ask POST /api/media/\(id)/transform-url/.")
        }
        guard let source = Self.source(of: media) else {
            throw APIError.notFound("This media has no picture to transform.")
        }
        let output = format.output(accepting: request.headers[.accept])
        let transform = options.transform(output: output)
        let size = transform.outputSize(sourceWidth: source.width, sourceHeight: source.height)
        let from = source.candidates.first { $0.width >= size.width && $0.height >= size.height } ?? source.candidates.last
        guard let from else { throw APIError.notFound("This media has no picture to transform.") }
        let key = StorageKeys.rendition(
            original: media.storageKey, generation: media.generation,
            name: "variants/" + options.canonical.replacingOccurrences(of: ",", with: "-"),
            ext: output.fileExtension)
        let extra: HTTPFields = format == .auto ? [.vary: "Accept"] : [:]

        if let stored = try await stored(key: key, media: media, extra: extra, request: request, context: context) {
            Counter(label: "mediaflow_transform_cache_hits_total").increment()
            return stored
        }
        let (storage, pool, limits, logger, variants) = (self.storage, self.pool, self.limits, context.logger, self.variants)
        let generation = media.generation
        let (sourceWidth, sourceHeight) = (source.width, source.height)
        try await renders.once(key) {
            // Another Gateway may have stored it meanwhile: a second render is tolerated, a second store is not made.
            if try await storage.info(key: key) != nil { return }
            let started = ContinuousClock.now
            let rendered: RenderedImage
            do {
                rendered = try await storage.withLocalFile(key: from.key) { path in
                    try await pool.run {
                        // Lower priority than the event loops (Linux: per thread); idempotent, so set at each render.
                        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                        return try ImageTransformer.render(
                            file: path, sourceWidth: sourceWidth, sourceHeight: sourceHeight, transform, limits: limits)
                    }
                }
            } catch let error as ImagingError {
                logger.error("transform render failed", metadata: [
                    "media_id": "\(id)", "source": "\(from.key)", "variant": "\(key)", "error": "\(error)",
                ])
                throw APIError(.internalServerError, code: "render_failed", detail: "The picture could not be rendered.")
            }
            try await storage.put(key: key, bytes: rendered.data)
            // Counted in the owner's quota from now on; a ledger that cannot be written is quota_resync's to mend.
            do {
                try await variants.recordVariant(key: key, mediaId: id, generation: generation, bytes: Int64(rendered.data.count))
            } catch {
                logger.warning("transform variant stored but not recorded in the ledger", metadata: [
                    "variant": "\(key)", "error": "\(error)",
                ])
            }
            let elapsed = started.duration(to: .now)
            Counter(label: "mediaflow_transform_renders_total").increment()
            Metrics.Timer(label: "mediaflow_transform_render_seconds").recordNanoseconds(
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            logger.info("transform rendered", metadata: [
                "media_id": "\(id)", "variant": "\(key)", "source": "\(from.key)",
                "size": "\(rendered.width)x\(rendered.height)", "bytes": "\(rendered.data.count)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        }
        guard let rendered = try await stored(key: key, media: media, extra: extra, request: request, context: context) else {
            throw APIError.notFound("The variant was rendered but storage does not hold it.")
        }
        return rendered
    }

    /// The stored variant `key`, from memory when this Gateway holds it, else from storage (then kept in memory
    /// when small); nil when storage has none. Every answer notes the fetch for the variant's retention.
    private func stored(
        key: String, media: Media, extra: HTTPFields, request: Request, context: GatewayRequestContext
    ) async throws -> Response? {
        if let entry = memory.get(key) {
            fetches.note(key)
            return try respond(entry, media: media, extra: extra, request: request)
        }
        guard let info = try await storage.info(key: key) else { return nil }
        fetches.note(key)
        if info.size <= Int64(memory.maxEntryBytes), let bytes = try? await storage.get(key: key), Int64(bytes.count) == info.size {
            let entry = VariantMemoryCache.Entry(
                body: ByteBuffer(bytes: bytes), etag: FileController.etag(info), contentType: MediaFormat.contentType(ofKey: key))
            memory.put(key, entry)
            return try respond(entry, media: media, extra: extra, request: request)
        }
        return try await files.stream(key: key, media: media, extraHeaders: extra, request: request, context: context)
    }

    /// A variant held in memory, answered as `FileController.stream` answers a stored file: ETag and 304, one range
    /// and 206 (416 when unsatisfiable), a year's `Cache-Control`.
    private func respond(_ entry: VariantMemoryCache.Entry, media: Media, extra: HTTPFields, request: Request) throws -> Response {
        var headers: HTTPFields = [
            .contentType: entry.contentType, .eTag: entry.etag, .acceptRanges: "bytes",
            .cacheControl: "\(media.isPublic ? "public" : "private"), max-age=31536000, immutable",
        ]
        for field in extra { headers[field.name] = field.value }
        if FileController.notModified(request, etag: entry.etag) { return Response(status: .notModified, headers: headers) }
        let size = Int64(entry.body.readableBytes)
        var body = entry.body
        var status = HTTPResponse.Status.ok
        if let rangeHeader = request.headers[.range], FileController.ifRangeMatches(request, etag: entry.etag) {
            guard let range = FileController.parseRange(rangeHeader, size: size) else {
                headers[.contentRange] = "bytes */\(size)"
                throw APIError(.rangeNotSatisfiable, code: "range_not_satisfiable",
                               detail: "The requested range is not satisfiable.", headers: headers)
            }
            body = entry.body.getSlice(at: entry.body.readerIndex + Int(range.lowerBound), length: Int(range.count)) ?? body
            status = .partialContent
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)"
        }
        headers[.contentLength] = String(body.readableBytes)
        if request.method == .head { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// `<id>.<format>`: a positive id and a known format, nothing else.
    static func parseFile(_ file: String) throws(APIError) -> (Int64, TransformFormat) {
        let parts = file.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ ("0"..."9").contains($0) }),
              let id = Int64(parts[0]), id > 0
        else { throw APIError.invalidOption("the last segment must be <media id>.<format>; got '\(file.prefix(60))'") }
        guard let format = TransformFormat(rawValue: String(parts[1])) else {
            throw APIError.invalidOption(
                "format must be one of \(TransformFormat.allCases.map(\.rawValue).joined(separator: ", ")); got '\(parts[1].prefix(20))'")
        }
        return (id, format)
    }

    /// A stored picture a transform can read, and its upright size.
    struct SourcePicture {
        let key: String
        let width: Int
        let height: Int
    }

    /// The picture a media's transforms are of (an image's original, a video's poster, an audio file's cover) and
    /// the stored files that show it whole, smallest first (the original last).
    static func source(of media: Media) -> (width: Int, height: Int, candidates: [SourcePicture])? {
        func stored(_ name: String) -> SourcePicture? {
            guard let r = media.renditions[name], let w = r.width, let h = r.height, w > 0, h > 0 else { return nil }
            return SourcePicture(key: r.key, width: w, height: h)
        }
        switch media.fileType {
        case .image:
            guard let width = media.width, let height = media.height, width > 0, height > 0 else { return nil }
            let renditions = ["small", "medium", "large"].compactMap(stored).sorted { $0.width * $0.height < $1.width * $1.height }
            return (width, height, renditions + [SourcePicture(key: media.storageKey, width: width, height: height)])
        case .video:
            return stored("poster").map { ($0.width, $0.height, [$0]) }
        case .audio:
            return stored("thumbnail").map { ($0.width, $0.height, [$0]) }
        }
    }

    // MARK: POST /api/media/{id}/transform-url/

    @Sendable package func transformURL(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try RouteParameters.id(context)
        let example = #"{"width": 320, "height": 240, "fit": "cover", "gravity": "smart", "format": "auto"}"#
        let body = try await JSONRequestBody(request, example: example)
        guard let media = try await repository.find(id: id), media.isVisible(to: user.id) else { throw APIError.notFound() }
        guard let signer else {
            throw APIError(.notImplemented, code: "transforms_disabled",
                           detail: "Transforms are off on this server (no MEDIA_TRANSFORM_KEY).")
        }
        let options = try Self.options(body.fields)
        let format = try Self.format(body.fields["format"])
        var path = "\(options.canonical)/\(id).\(format.rawValue)"
        var expires: Int?
        if !media.isPublic {
            let exp = Int(Date().timeIntervalSince1970) + privateURLLifetime
            path += "?exp=\(exp)"
            expires = exp
        }
        let url = "\(baseURL)/img/\(signer.sign(path))/\(path)"
        return try json(TransformURLResource(url: url, expires_at: expires.map {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval($0)))
        }))
    }

    struct TransformURLResource: Encodable {
        let url: String
        let expires_at: String?

        enum CodingKeys: String, CodingKey { case url, expires_at }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(url, forKey: .url)
            try c.encode(expires_at, forKey: .expires_at)  // null for public media, as SPEC says
        }
    }

    /// The body's `{width, height, fit, gravity, quality}` as options, by the same rules as a URL's.
    static func options(_ fields: [String: JSONValue]) throws(APIError) -> TransformOptions {
        func side(_ name: String) throws(APIError) -> Int? {
            guard let value = fields[name], value != .null else { return nil }
            guard let pixels = value.intValue, (1...Int64(TransformOptions.maxSide)).contains(pixels) else {
                throw APIError.invalidOption("\(name) must be a whole number of pixels from 1 to \(TransformOptions.maxSide)")
            }
            return Int(pixels)
        }
        func text(_ name: String) throws(APIError) -> String? {
            guard let value = fields[name], value != .null else { return nil }
            guard let string = value.stringValue else { throw APIError.invalidOption("\(name) must be a string") }
            return string
        }
        let width = try side("width"), height = try side("height")
        guard width != nil || height != nil else { throw APIError.invalidOption("give width or height (or both)") }
        var parts = [width.map { "w_\($0)" }, height.map { "h_\($0)" }].compactMap { $0 }
        if let fit = try text("fit") { parts.append("fit_\(fit)") }
        if let gravity = try text("gravity") { parts.append("g_\(gravity)") }
        if let value = fields["quality"], value != .null {
            guard let quality = value.intValue else { throw APIError.invalidOption("quality must be a whole number from 1 to 100") }
            parts.append("q_\(quality)")
        }
        return try TransformOptions.parse(parts.joined(separator: ","))
    }

    static func format(_ value: JSONValue?) throws(APIError) -> TransformFormat {
        guard let value, value != .null else { return .auto }
        guard let text = value.stringValue, let format = TransformFormat(rawValue: text) else {
            throw APIError.invalidOption(
                "format must be one of \(TransformFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }
}

/// The format segment of a transform URL.
package typealias TransformFormat = TransformOptions.Format

extension TransformOptions.Format {
    /// The encoding this format asks for; `auto` takes AVIF, then WebP, then JPEG, whichever `accept` names first in
    /// that order of preference (a browser that says `image/avif` gets AVIF).
    func output(accepting accept: String?) -> ImageTransform.Output {
        switch self {
        case .jpg: .jpeg
        case .webp: .webp
        case .avif: .avif
        case .png: .png
        case .auto:
            if let accept = accept?.lowercased() {
                if accept.contains("image/avif") { .avif } else if accept.contains("image/webp") { .webp } else { .jpeg }
            } else {
                .jpeg
            }
        }
    }
}

extension TransformOptions {
    /// The rendering these options ask for, in `output`.
    func transform(output: ImageTransform.Output) -> ImageTransform {
        let mode: ImageTransform.Fit = switch (fit, width != nil && height != nil) {
        case (.cover, true):
            .cover(gravity == .smart || gravity == .face ? .attention : gravity == .entropy ? .entropy : .centre)
        case (.fill, true): .fill
        default: .inside
        }
        return ImageTransform(width: width, height: height, fit: mode, output: output, quality: quality)
    }
}
