import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `BlobStorage` on any S3-compatible object store (SPEC §9), over async-http-client with SigV4.
///
/// Writes stream into multipart uploads: the bytes of each 8 MiB part are spooled to a local temp file as they
/// arrive (so a 100 MB upload never sits in memory), and full parts are sent while the next ones fill. Nothing is
/// visible under a key before `commit()`; `abort()` (a 413, a failure, a cancellation) aborts the multipart upload,
/// and `sweepAbandonedWrites` aborts the ones a crashed process left open. Reads stream with `Range`.
public struct S3Storage: BlobStorage {
    let location: S3Location
    let signer: SigV4Signer
    let client: HTTPClient
    let threadPool: NIOThreadPool
    let logger: Logger
    /// How the store wants query strings written, once a request with a `/` in its query showed it.
    let queryStyle = QueryStyleMemo()
    /// The `Content-Type` an object is stored with, by key (nil: none). The store serves it itself behind a
    /// redirect or a CDN, where `binary/octet-stream` would make a browser download a video instead of playing it.
    let contentType: @Sendable (String) -> String?
    /// Parts of a multipart upload (S3 wants at least 5 MiB for every part but the last).
    public static let partSize = 8 << 20
    /// Parts uploaded at once by one writer: object stores take parts in parallel far faster than one by one.
    static let partsInFlight = 4
    static let timeout = TimeAmount.seconds(120)
    /// Every key Mediaflow writes starts here (`StorageKeys`); the sweep of abandoned uploads looks nowhere else, so a
    /// bucket shared with another application keeps that application's uploads.
    public static let ownedPrefix = "media/"

    public init(location: S3Location, client: HTTPClient = .shared, threadPool: NIOThreadPool = .singleton,
                logger: Logger = Logger(label: "mediaflow.storage.s3"),
                contentType: @escaping @Sendable (String) -> String? = { _ in nil }) {
        self.location = location
        self.contentType = contentType
        signer = SigV4Signer(accessKey: location.accessKey, secretKey: location.secretKey, sessionToken: location.sessionToken,
                             region: location.region)
        self.client = client
        self.threadPool = threadPool
        self.logger = logger
    }

    // MARK: Requests

    /// Sends one signed request. `body` with `payloadHash` (the body's SHA-256, or `UNSIGNED-PAYLOAD` for a stream).
    ///
    /// A query with a `/` in it (a prefix, an upload id, a continuation token) is written as the store checks it:
    /// SigV4's `%2F` first; if the store refuses that signature, once more with `/` as it is, and the store is
    /// remembered to want that (`QueryStyle`). A request whose body is a stream cannot be sent twice: the store's
    /// style is learned first with a listing.
    func send(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [String: String] = [:],
        body: HTTPClientRequest.Body? = nil, payloadHash: String = SigV4Signer.emptyPayloadHash,
        replayable: Bool = true, timeout: TimeAmount = Self.timeout
    ) async throws -> HTTPClientResponse {
        let hasSlash = query.contains { $0.0.contains("/") || $0.1.contains("/") }
        guard hasSlash, queryStyle.known == nil else {
            return try await sendOnce(method, key: key, query: query, headers: extra, body: body, payloadHash: payloadHash,
                                      style: queryStyle.known ?? .standard, timeout: timeout)
        }
        guard replayable else {
            try await learnQueryStyle()
            return try await sendOnce(method, key: key, query: query, headers: extra, body: body, payloadHash: payloadHash,
                                      style: queryStyle.known ?? .standard, timeout: timeout)
        }
        let first = try await sendOnce(method, key: key, query: query, headers: extra, body: body, payloadHash: payloadHash,
                                       style: .standard, timeout: timeout)
        guard first.status == .forbidden else {
            queryStyle.learn(.standard, logger: logger)
            return first
        }
        let answer = try await Self.bodyBytes(first)
        guard S3XML(answer).fields["Code"] == "SignatureDoesNotMatch" else {
            return HTTPClientResponse(status: first.status, headers: first.headers, body: .bytes(ByteBuffer(bytes: answer)))
        }
        let second = try await sendOnce(method, key: key, query: query, headers: extra, body: body, payloadHash: payloadHash,
                                        style: .literalSlash, timeout: timeout)
        if second.status != .forbidden { queryStyle.learn(.literalSlash, logger: logger) }
        return second
    }

    /// Lists one key under `media/` (a query with a `/`, nothing else): the store's query style is known afterwards.
    private func learnQueryStyle() async throws {
        let response = try await send(.GET, key: nil, query: [("list-type", "2"), ("max-keys", "1"), ("prefix", Self.ownedPrefix)])
        try await check(response, "ListObjectsV2", key: Self.ownedPrefix)
    }

    private func sendOnce(
        _ method: HTTPMethod, key: String?, query: [(String, String)], headers extra: [String: String],
        body: HTTPClientRequest.Body?, payloadHash: String, style: SigV4Signer.QueryStyle, timeout: TimeAmount
    ) async throws -> HTTPClientResponse {
        if let key { try StorageKey.validate(key) }
        let path = location.path(key)
        var headers = extra
        headers["host"] = location.host
        let signed = signer.sign(method: method.rawValue, path: path, query: query, headers: headers, payloadHash: payloadHash,
                                 queryStyle: style)
        let queryString = SigV4Signer.canonicalQuery(query, style: style)
        var request = HTTPClientRequest(
            url: location.base + SigV4Signer.encodePath(path) + (queryString.isEmpty ? "" : "?\(queryString)"))
        request.method = method
        for (name, value) in headers.merging(signed, uniquingKeysWith: { $1 }) { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = body }
        do {
            return try await client.execute(request, timeout: timeout, logger: nil)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.ioFailed("S3 \(method.rawValue) \(key ?? "/"): \(error)")
        }
    }

    /// The response's body as bytes (small answers: XML, errors).
    static func bodyBytes(_ response: HTTPClientResponse) async throws -> Data {
        Data(try await response.body.collect(upTo: 16 << 20).readableBytesView)
    }

    /// Throws the S3 error of a non-2xx answer. Only a missing object is `notFound` (`NoSuchKey`, or a 404 without a
    /// body, as a HEAD has): a missing bucket or upload is a fault of the store or its configuration, which a worker
    /// retries, not a media whose original is gone.
    func check(_ response: HTTPClientResponse, _ what: String, key: String?) async throws {
        guard !(200..<300).contains(response.status.code) else { return }
        let xml = S3XML(try await Self.bodyBytes(response))
        let code = xml.fields["Code"] ?? "HTTP \(response.status.code)"
        if code == "NoSuchKey" || (response.status == .notFound && xml.fields["Code"] == nil) {
            throw StorageError.notFound(key ?? what)
        }
        throw StorageError.ioFailed("S3 \(what) \(key ?? ""): \(code): \(xml.fields["Message"] ?? response.status.reasonPhrase)")
    }

    // MARK: BlobStorage

    public func makeWriter(key: String) async throws -> any BlobWriter {
        try StorageKey.validate(key)
        return S3MultipartWriter(storage: self, key: key)
    }

    public func info(key: String) async throws -> BlobInfo? {
        let response = try await send(.HEAD, key: key)
        if response.status == .notFound { return nil }
        try await check(response, "HEAD", key: key)
        let size = Int64(response.headers.first(name: "content-length") ?? "") ?? 0
        let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate) ?? Date(timeIntervalSince1970: 0)
        return BlobInfo(size: size, modified: modified)
    }

    public func read(
        key: String, range: Range<Int64>?, chunkSize: Int, _ body: (ByteBuffer) async throws -> Void
    ) async throws {
        var headers: [String: String] = [:]
        if let range {
            guard !range.isEmpty else { return }
            headers["range"] = "bytes=\(range.lowerBound)-\(range.upperBound - 1)"
        }
        let response = try await send(.GET, key: key, headers: headers)
        try await check(response, "GET", key: key)
        // A server that ignores `Range` answers 200 with the whole object: those bytes are not the ones asked for.
        if range != nil, response.status != .partialContent {
            throw StorageError.ioFailed("S3 GET \(key): asked for a range, answered \(response.status.code)")
        }
        let expected = range.map { $0.upperBound - $0.lowerBound } ?? Int64(response.headers.first(name: "content-length") ?? "")
        var received: Int64 = 0
        for try await chunk in response.body {
            var chunk = chunk
            while chunk.readableBytes > 0 {
                guard let slice = chunk.readSlice(length: min(chunkSize, chunk.readableBytes)) else { break }
                received += Int64(slice.readableBytes)
                try await body(slice)
            }
        }
        // As on disk: an answer shorter than what was asked for fails rather than ends the read early.
        if let expected, received < expected {
            throw StorageError.ioFailed("S3 GET \(key): the object ends at \(received), before \(expected)")
        }
    }

    public func delete(key: String) async throws {
        let response = try await send(.DELETE, key: key)
        if response.status == .notFound { return }
        try await check(response, "DELETE", key: key)
    }

    public func deletePrefix(_ prefix: String) async throws {
        // A media's folder holds a handful of files: one DELETE each.
        for key in try await list(prefix: prefix) { try await delete(key: key) }
    }

    public func list(prefix: String) async throws -> [String] {
        var keys: [String] = []
        try await listPages(prefix: prefix, pageSize: 1000) { keys += $0.map(\.key) }
        return keys.sorted()
    }

    public func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws {
        var token: String?
        repeat {
            var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(min(1000, max(1, pageSize))))]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query)
            try await check(response, "ListObjectsV2", key: prefix)
            let xml = S3XML(try await Self.bodyBytes(response), record: "Contents")
            // Keys come back percent-encoded when the server says so (some do even unasked).
            let encoded = xml.fields["EncodingType"] == "url"
            let page = xml.records.compactMap { record -> BlobListing? in
                guard let raw = record["Key"], let key = encoded ? raw.removingPercentEncoding : raw else { return nil }
                return BlobListing(
                    key: key, size: Int64(record["Size"] ?? "") ?? 0, modified: Self.isoDateOrNow(record["LastModified"] ?? ""))
            }
            if !page.isEmpty { try await body(page) }
            token = xml.fields["IsTruncated"] == "true" ? xml.fields["NextContinuationToken"] : nil
        } while token != nil
    }

    public func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mediaflow-s3-get-\(UUID().uuidString)").path
        let file = try await SpoolFile.create(path, threadPool: threadPool)
        defer { file.remove(logger: logger) }
        do {
            try await read(key: key, range: nil, chunkSize: 1 << 20) { try await file.append($0) }
            try await file.close()
        } catch {
            try? await file.close()  // the download failed: that error is the one to report
            throw error
        }
        return try await body(path)
    }

    public func store(key: String, contentsOf path: String) async throws {
        guard let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue else {
            throw StorageError.ioFailed("store \(key): the size of \(path) cannot be read")
        }
        try await putObject(key: key, path: path, size: size,
                            md5: try await FileChunks(path: path, threadPool: threadPool).contentMD5())
    }

    /// Aborts the multipart uploads with no activity since `cutoff`: begun before it, and no part stored after it. (The
    /// parts' times count too because an upload of many parts can outlive the grace while it is still going, and
    /// because some S3 servers, moto among them, answer a fixed `Initiated` time.)
    public func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int {
        var count = 0
        for upload in try await openMultipartUploads(prefix: Self.ownedPrefix) where upload.initiated < cutoff {
            // One upload the store cannot answer for must not stop the sweep of the others: logged, tried next time.
            do {
                if let lastPart = try await lastPartStored(key: upload.key, uploadId: upload.uploadId), lastPart >= cutoff {
                    continue
                }
                if !dryRun { try await abortMultipart(key: upload.key, uploadId: upload.uploadId) }
                count += 1
            } catch {
                logger.warning("abandoned multipart upload not swept; the next sweep tries again", metadata: [
                    "key": "\(upload.key)", "upload_id": "\(upload.uploadId)", "error": "\(error)",
                ])
            }
        }
        return count
    }

    /// When the newest part of a multipart upload was stored (nil: no part yet, or the upload is gone).
    func lastPartStored(key: String, uploadId: String) async throws -> Date? {
        let response = try await send(.GET, key: key, query: [("uploadId", uploadId)])
        if response.status == .notFound { return nil }
        try await check(response, "ListParts", key: key)
        let parts = S3XML(try await Self.bodyBytes(response), record: "Part").records
        return parts.compactMap { $0["LastModified"].map(Self.isoDateOrNow) }.max()
    }

    /// The multipart uploads begun and neither completed nor aborted (ListMultipartUploads, every page).
    public func openMultipartUploads(prefix: String) async throws -> [(key: String, uploadId: String, initiated: Date)] {
        var uploads: [(key: String, uploadId: String, initiated: Date)] = []
        var marker: (key: String, uploadId: String)?
        repeat {
            var query: [(String, String)] = [("uploads", ""), ("prefix", prefix)]
            if let marker { query += [("key-marker", marker.key), ("upload-id-marker", marker.uploadId)] }
            let response = try await send(.GET, key: nil, query: query)
            try await check(response, "ListMultipartUploads", key: prefix)
            let xml = S3XML(try await Self.bodyBytes(response), record: "Upload")
            for upload in xml.records {
                guard let key = upload["Key"], let id = upload["UploadId"] else { continue }
                uploads.append((key, id, Self.isoDateOrNow(upload["Initiated"] ?? "")))
            }
            if xml.fields["IsTruncated"] == "true", let key = xml.fields["NextKeyMarker"], let id = xml.fields["NextUploadIdMarker"] {
                marker = (key, id)
            } else {
                marker = nil
            }
        } while marker != nil
        return uploads
    }

    /// A time-limited URL a browser can fetch the object from directly (`MEDIA_FILES_REDIRECT`).
    public func presignedURL(key: String, expires: Int) -> String? {
        signer.presignedURL(base: location.base, host: location.host, path: location.path(key), expires: expires)
    }

    /// The bucket answers a signed HEAD within 5 s (readiness).
    public func checkReachable() async throws {
        let response = try await send(.HEAD, key: nil, timeout: .seconds(5))
        guard (200..<300).contains(response.status.code) else {
            throw StorageError.ioFailed("S3 bucket \(location.bucket) at \(location.base): HTTP \(response.status.code)")
        }
    }

    /// Creates the bucket (already owning it is fine): for development and test servers; production buckets are
    /// made by whoever runs the store.
    public func createBucket() async throws {
        let response = try await send(.PUT, key: nil)
        if response.status == .conflict {
            let code = S3XML(try await Self.bodyBytes(response)).fields["Code"] ?? "HTTP 409"
            if code == "BucketAlreadyOwnedByYou" { return }
            throw StorageError.ioFailed("S3 CreateBucket \(location.bucket): \(code)")
        }
        try await check(response, "CreateBucket", key: nil)
    }

    // MARK: Multipart

    func createMultipart(key: String) async throws -> String {
        let response = try await send(.POST, key: key, query: [("uploads", "")], headers: objectHeaders(key: key))
        try await check(response, "CreateMultipartUpload", key: key)
        guard let id = S3XML(try await Self.bodyBytes(response)).fields["UploadId"], !id.isEmpty else {
            throw StorageError.ioFailed("S3 CreateMultipartUpload \(key): no UploadId in the answer")
        }
        return id
    }

    /// One part, with its `Content-MD5`: the store refuses it (`BadDigest`) if the bytes it got differ.
    func uploadPart(key: String, uploadId: String, number: Int, path: String, size: Int, md5: String) async throws -> String {
        let response = try await send(
            .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadId)],
            headers: ["content-length": String(size), "content-md5": md5],
            body: .stream(FileChunks(path: path, threadPool: threadPool), length: .known(Int64(size))),
            payloadHash: SigV4Signer.unsignedPayload, replayable: false)
        try await check(response, "UploadPart \(number)", key: key)
        guard let etag = response.headers.first(name: "etag") else {
            throw StorageError.ioFailed("S3 UploadPart \(number) \(key): no ETag in the answer")
        }
        return etag
    }

    func completeMultipart(key: String, uploadId: String, parts: [(number: Int, etag: String)]) async throws {
        let xml = S3XML.completeMultipartUpload(parts)
        let response = try await send(
            .POST, key: key, query: [("uploadId", uploadId)], headers: ["content-length": String(xml.count)],
            body: .bytes(ByteBuffer(bytes: xml)), payloadHash: SigV4Signer.sha256Hex(xml))
        try await check(response, "CompleteMultipartUpload", key: key)
        // S3 may answer 200 with an error in the body once the upload was accepted.
        let answer = S3XML(try await Self.bodyBytes(response))
        if let code = answer.fields["Code"], answer.fields["Location"] == nil, answer.fields["ETag"] == nil {
            throw StorageError.ioFailed("S3 CompleteMultipartUpload \(key): \(code): \(answer.fields["Message"] ?? "")")
        }
    }

    /// An abort tried three times over about a second: S3 documents that an abort racing a part may need repeating,
    /// and a store's passing hiccup should not leave the upload for the Janitor's sweep.
    func abortMultipartRetrying(key: String, uploadId: String) async throws {
        var attempt = 1
        while true {
            do {
                return try await abortMultipart(key: key, uploadId: uploadId)
            } catch {
                guard attempt < 3 else { throw error }
                logger.notice("multipart abort failed; trying again", metadata: [
                    "key": "\(key)", "upload_id": "\(uploadId)", "attempt": "\(attempt)", "error": "\(error)",
                ])
                try await Task.sleep(for: .milliseconds(200 * attempt * attempt))
                attempt += 1
            }
        }
    }

    func abortMultipart(key: String, uploadId: String) async throws {
        let response = try await send(.DELETE, key: key, query: [("uploadId", uploadId)])
        if response.status == .notFound { return }
        try await check(response, "AbortMultipartUpload", key: key)
    }

    /// The headers an object is created with: its content type when the key says it.
    func objectHeaders(key: String, _ headers: [String: String] = [:]) -> [String: String] {
        var headers = headers
        if let type = contentType(key) { headers["content-type"] = type }
        return headers
    }

    func putObject(key: String, path: String, size: Int, md5: String) async throws {
        let response = try await send(
            .PUT, key: key, headers: objectHeaders(key: key, ["content-length": String(size), "content-md5": md5]),
            body: .stream(FileChunks(path: path, threadPool: threadPool), length: .known(Int64(size))),
            payloadHash: SigV4Signer.unsignedPayload)
        try await check(response, "PUT", key: key)
    }

    // MARK: Dates

    static func isoDate(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    /// A time S3 gave, or now when it cannot be read: an object or upload of unknown age counts as young, so no sweep
    /// ever removes it on a misread date.
    static func isoDateOrNow(_ text: String) -> Date { isoDate(text) ?? Date() }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}

/// The query style a store showed, remembered for the storage's life (shared by its copies).
final class QueryStyleMemo: Sendable {
    private let style = Mutex<SigV4Signer.QueryStyle?>(nil)

    var known: SigV4Signer.QueryStyle? { style.withLock { $0 } }

    func learn(_ learned: SigV4Signer.QueryStyle, logger: Logger) {
        let first = style.withLock { style -> Bool in
            defer { style = learned }
            return style == nil
        }
        if first, learned == .literalSlash {
            logger.notice("the object store checks signatures against query strings with '/' unencoded (not SigV4's %2F); signing so from now on")
        }
    }
}
