import Foundation
import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Persistence
import Storage
import Synchronization
import Tokens

/// Resumable uploads on tus 1.0.0 (SPEC §8) at `/api/uploads/`: core (HEAD, PATCH, OPTIONS), creation,
/// creation-with-upload, termination and expiration, so existing clients (tus-js-client, TUSKit, tuspy, Uppy) work.
///
/// Bytes go to storage as they arrive, as segments `uploads/<id>/<offset>-<n>` written through `BlobStorage`'s
/// atomic writers (a file on local disk, an object on S3), a new one every `segmentSize` bytes; the offset is moved in
/// PostgreSQL after each segment is stored, so a Gateway that dies loses at most the segment it was writing, and any
/// Gateway continues from the offset HEAD reports. A connection cut mid-PATCH keeps what arrived. The last byte joins
/// the segments into the original and registers it exactly as `POST /api/media/upload/` does (`UploadHandler.register`).
package struct ResumableUploadController: Sendable {
    package typealias Context = GatewayRequestContext

    package let uploads: any ResumableUploadStore
    package let storage: any BlobStorage
    package let handler: UploadHandler
    package let baseURL: String
    package let expiry: Duration
    /// How long a PATCH holds its upload without renewing (renewed every third of it while bytes arrive, and all the
    /// while the last byte's upload becomes its media): a Gateway that died mid-PATCH blocks the upload this long.
    package var lease = Duration.seconds(15)

    package init(
        uploads: any ResumableUploadStore, storage: any BlobStorage, handler: UploadHandler, baseURL: String,
        expiry: Duration, lease: Duration = .seconds(15)
    ) {
        self.uploads = uploads
        self.storage = storage
        self.handler = handler
        self.baseURL = baseURL
        self.expiry = expiry
        self.lease = lease
    }

    package static let version = "1.0.0"
    package static let extensions = "creation,creation-with-upload,termination,expiration"
    package static let segmentSize: Int64 = 8 << 20
    package static let offsetContentType = "application/offset+octet-stream"

    package func addRoutes(discovery: RouterGroup<Context>, to group: RouterGroup<Context>) {
        discovery.on("", method: .options, use: options)
        group.post("", use: create)
        group.on(":id", method: .head, use: head)
        group.patch(":id", use: patch)
        group.delete(":id", use: terminate)
    }

    // MARK: routes

    /// Discovery: what this server speaks (no credentials needed).
    @Sendable package func options(_ request: Request, context: Context) async throws -> Response {
        var headers = HTTPFields()
        headers.set("Tus-Resumable", Self.version)
        headers.set("Tus-Version", Self.version)
        headers.set("Tus-Extension", Self.extensions)
        headers.set("Tus-Max-Size", String(FileType.allCases.map { handler.limits.maxBytes(for: $0) }.max() ?? 0))
        return Response(status: .noContent, headers: headers)
    }

    /// Creation (and creation-with-upload): the length and the name decide the limit before a byte is stored.
    @Sendable package func create(_ request: Request, context: Context) async throws -> Response {
        let user = try context.requireUser()
        if request.headers.value(named: "Upload-Defer-Length") != nil {
            throw APIError.badRequest("invalid_upload_length", "Upload-Defer-Length is not supported: send Upload-Length.")
        }
        guard let text = request.headers.value(named: "Upload-Length"), let length = Int64(text), length >= 0 else {
            throw APIError.badRequest("invalid_upload_length", "Upload-Length must be the file's size in bytes.")
        }
        let rawMetadata = request.headers.value(named: "Upload-Metadata") ?? ""
        let metadata = try Self.metadata(rawMetadata)
        guard let name = metadata["filename"], !name.isEmpty else {
            throw APIError.badRequest("file_missing", "Upload-Metadata must carry the file's name as 'filename'.")
        }
        let filename = UploadHandler.cleanFilename(name)
        let type = try UploadHandler.announcedType(of: filename)
        guard length > 0 else { throw APIError.badRequest("empty_file", "The submitted file is empty.") }
        guard length <= handler.limits.maxBytes(for: type) else { throw handler.tooLarge(type) }
        let isPublic = try metadata["is_public"].map(UploadHandler.parseBool) ?? true
        let key = try metadata["idempotency_key"].map(UploadHandler.validIdempotencyKey)

        var upload = ResumableUpload(
            id: UUID(), userId: user.id, username: user.username, filename: filename, isPublic: isPublic,
            idempotencyKey: key, length: length,
            expiresAt: Date().addingTimeInterval(Double(expiry.components.seconds)),
            metadata: rawMetadata.isEmpty ? nil : rawMetadata)
        // A retry of an upload that already made its media (same idempotency key, SPEC §1.1) stores nothing: the new
        // upload is complete from the start, and HEAD says so.
        if let key, let existing = try await handler.repository.find(userId: user.id, idempotencyKey: key) {
            upload.offset = length
            upload.mediaId = existing.id
        }
        // A creation is an upload to the rate limit, and reserves its whole length under the upload's own id until the
        // upload expires (SPEC §10); a replay is neither charged nor reserved.
        guard upload.mediaId == nil, let allowance = handler.allowance else {
            return try await created(upload, request: request, user: user, context: context)
        }
        let rateHeaders = try await allowance.chargeUpload(user, route: "tus", logger: context.logger)
        do {
            _ = try await allowance.reserve(user, bytes: length, id: upload.id, expiresAt: upload.expiresAt, logger: context.logger)
        } catch var error as APIError {
            error.headers.append(contentsOf: rateHeaders)
            throw error
        }
        do {
            var response = try await created(upload, request: request, user: user, context: context)
            response.headers.append(contentsOf: rateHeaders)
            return response
        } catch var error as APIError {
            await allowance.release(upload.id, logger: context.logger)
            error.headers.append(contentsOf: rateHeaders)
            throw error
        } catch {
            await allowance.release(upload.id, logger: context.logger)
            throw error
        }
    }

    /// Records a new upload and answers its creation, taking the bytes of a creation-with-upload.
    private func created(_ upload: ResumableUpload, request: Request, user: AuthenticatedUser, context: Context) async throws -> Response {
        let length = upload.length
        let type = try UploadHandler.announcedType(of: upload.filename)
        try await uploads.createUpload(upload)
        context.logger.info("resumable upload created", metadata: [
            "upload_id": "\(upload.id)", "user_id": "\(user.id)", "length": "\(length)", "type": "\(type.rawValue)",
        ])
        var headers = Self.headers(for: upload)
        headers.set("Location", "\(baseURL)/api/uploads/\(upload.id.uuidString.lowercased())")
        if let mediaId = upload.mediaId {
            headers.set("Upload-Offset", String(length))
            add(mediaId, to: &headers)
        } else if request.headers[.contentType] == Self.offsetContentType {
            do {
                let (offset, media) = try await receive(request, upload: upload, at: 0, user: user, context: context)
                headers.set("Upload-Offset", String(offset))
                if let media { add(media, to: &headers) }
            } catch {
                // The client never learnt where the upload is: nothing of it may stay.
                await removeQuietly(upload.id, why: "creation-with-upload failed", logger: context.logger)
                throw error
            }
        }
        return Response(status: .created, headers: headers)
    }

    @Sendable package func head(_ request: Request, context: Context) async throws -> Response {
        let upload = try await owned(context.parameters.get("id"), user: try context.requireUser(), logger: context.logger)
        var headers = Self.headers(for: upload)
        headers.set("Upload-Offset", String(upload.offset))
        headers.set("Upload-Length", String(upload.length))
        headers.set("Cache-Control", "no-store")
        if let metadata = upload.metadata { headers.set("Upload-Metadata", metadata) }
        if let mediaId = upload.mediaId { add(mediaId, to: &headers) }
        return Response(status: .ok, headers: headers)
    }

    @Sendable package func patch(_ request: Request, context: Context) async throws -> Response {
        let user = try context.requireUser()
        guard request.headers[.contentType] == Self.offsetContentType else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           detail: "A PATCH carries Content-Type: \(Self.offsetContentType).")
        }
        let upload = try await owned(context.parameters.get("id"), user: user, logger: context.logger)
        guard let text = request.headers.value(named: "Upload-Offset"), let offset = Int64(text), offset >= 0 else {
            throw APIError.badRequest("invalid_upload_offset", "Upload-Offset must be the number of bytes already sent.")
        }
        guard offset == upload.offset else {
            throw APIError(.conflict, code: "offset_mismatch",
                           detail: "Upload-Offset is \(offset) but the upload has \(upload.offset) bytes: HEAD tells where to go on.")
        }
        var headers = Self.headers(for: upload)
        if let mediaId = upload.mediaId {
            // Complete already, its offset the length (an empty PATCH at the end, or an upload an idempotency key
            // completed at creation): the media it became.
            headers.set("Upload-Offset", String(upload.length))
            add(mediaId, to: &headers)
            return Response(status: .noContent, headers: headers)
        }
        let (newOffset, media) = try await receive(request, upload: upload, at: offset, user: user, context: context)
        headers.set("Upload-Offset", String(newOffset))
        if let media { add(media, to: &headers) }
        return Response(status: .noContent, headers: headers)
    }

    /// Termination: the upload and its stored bytes go (a media it already became stays).
    @Sendable package func terminate(_ request: Request, context: Context) async throws -> Response {
        let upload = try await owned(context.parameters.get("id"), user: try context.requireUser(), logger: context.logger,
                                     expired: .allowed)
        try await remove(upload.id, why: "terminated by the client", logger: context.logger)
        var headers = HTTPFields()
        headers.set("Tus-Resumable", Self.version)
        return Response(status: .noContent, headers: headers)
    }

    // MARK: receiving bytes

    /// Streams one request body into segments from the upload's offset; returns the new offset, and the media when
    /// the last byte arrived. The upload is claimed for the whole request, and released before the answer goes out,
    /// so the client's next PATCH never finds it still held.
    private func receive(
        _ request: Request, upload: ResumableUpload, at offset: Int64, user: AuthenticatedUser, context: Context
    ) async throws -> (Int64, Int64?) {
        let holder = UUID()
        let lease = self.lease
        guard let claimed = try await uploads.claimUpload(id: upload.id, holder: holder, lease: lease) else {
            throw APIError(.conflict, code: "upload_busy",
                           detail: "Another request is sending bytes of this upload; wait for it, then HEAD and go on.")
        }
        // The lease is renewed while bytes keep arriving: a connection that went silent without closing (a phone out of
        // coverage) lets it lapse, and the client's resumed PATCH takes the upload over. While the last byte's upload
        // becomes its media (segments copied into the original: a while on S3) no byte arrives, and the lease is
        // renewed all the same: a client that retries its final PATCH meanwhile is told the upload is busy, instead of
        // taking it over and dropping the segment being copied.
        let id = upload.id
        let progress = ByteProgress()
        let logger = context.logger
        let renewal = Task { [uploads] in
            var seen = progress.bytes
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 3)
                guard !Task.isCancelled else { return }
                let now = progress.bytes
                guard now != seen || progress.isCompleting else { continue }
                seen = now
                do {
                    _ = try await uploads.renewClaim(id: id, holder: holder, lease: lease)
                } catch {
                    logger.warning("resumable upload's lease not renewed", metadata: ["upload_id": "\(id)", "error": "\(error)"])
                }
            }
        }
        let result: Result<(Int64, Int64?), any Error>
        do {
            result = .success(try await receive(
                request, claimed: claimed, offset: offset, holder: holder, progress: progress, user: user, context: context))
        } catch {
            result = .failure(error)
        }
        renewal.cancel()
        // In a task of its own: this request's may be cancelled (the client went away), the release must still run.
        await Task { [uploads] in
            do {
                try await uploads.releaseClaim(id: id, holder: holder)
            } catch {
                logger.warning("resumable upload's claim not released; it lapses within the lease", metadata: [
                    "upload_id": "\(id)", "lease": "\(lease)", "error": "\(error)",
                ])
            }
        }.value
        return try result.get()
    }

    private func receive(
        _ request: Request, claimed: ResumableUpload, offset: Int64, holder: UUID, progress: ByteProgress,
        user: AuthenticatedUser, context: Context
    ) async throws -> (Int64, Int64?) {
        let logger = context.logger
        var upload = claimed
        if let mediaId = upload.mediaId { return (upload.length, mediaId) }
        // Checked again now that it is ours: another PATCH may have moved it since this one looked.
        guard upload.offset == offset else {
            throw APIError(.conflict, code: "offset_mismatch",
                           detail: "Upload-Offset is \(offset) but the upload has \(upload.offset) bytes: HEAD tells where to go on.")
        }
        // Segments stored but never counted (a PATCH that died between storing and counting one, or a last segment
        // whose media was not made) would collide with the bytes about to come: they go first.
        try await dropUncounted(upload, logger: logger)

        var segments = SegmentWriter(upload: upload, holder: holder, storage: storage, store: uploads, logger: logger)
        var head: [UInt8]? = nil
        if upload.format == nil {
            // The first bytes decide the type; fewer than a judgement needs may be stored already.
            head = try await storedBytes(of: upload)
        }
        let needed = Int(min(Int64(ContentSniffer.minimumPrefix), upload.length))
        do {
            for try await chunk in request.body {
                guard segments.offset + Int64(chunk.readableBytes) <= upload.length else {
                    throw APIError(.contentTooLarge, code: "file_too_large",
                                   detail: "The bytes sent go past Upload-Length (\(upload.length)).")
                }
                if var pending = head {
                    pending.append(contentsOf: chunk.readableBytesView.prefix(needed - min(needed, pending.count)))
                    head = pending
                    if pending.count >= needed {
                        do {
                            upload.format = try UploadHandler.judge(head: pending, filename: upload.filename)
                        } catch {
                            await segments.abort()
                            await removeQuietly(upload.id, why: "content refused", logger: logger)
                            throw error
                        }
                        segments.format = upload.format
                        head = nil
                    }
                }
                try await segments.write(chunk)
                progress.add(chunk.readableBytes)
            }
        } catch let error as APIError {
            await segments.abort()
            throw error
        } catch {
            // The client went away mid-request: keep what arrived, so it resumes from there (in a task of its own:
            // this request's may be cancelled by now).
            let cut = segments
            let kept = await Task {
                var segments = cut
                return try? await segments.finish()
            }.value
            logger.info("resumable upload interrupted; bytes kept", metadata: [
                "upload_id": "\(upload.id)", "offset": "\(kept ?? segments.committed)", "error": "\(error)",
            ])
            throw error
        }
        let offset = try await segments.finish()
        guard offset == upload.length else { return (offset, nil) }
        progress.isCompleting = true
        return (offset, try await complete(upload, holder: holder, user: user, context: context))
    }

    /// What is stored of an upload whose type is not known yet (fewer bytes than a judgement needs).
    private func storedBytes(of upload: ResumableUpload) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for key in try await segmentKeys(of: upload, through: upload.offset) {
            try await storage.read(key: key, range: nil, chunkSize: 64 << 10) { bytes.append(contentsOf: $0.readableBytesView) }
        }
        return bytes
    }

    /// The last byte arrived: the segments become the original, the original a media.
    private func complete(_ upload: ResumableUpload, holder: UUID, user: AuthenticatedUser, context: Context) async throws -> Int64 {
        guard let format = upload.format else {
            throw APIError.badRequest("empty_file", "The upload ended before its type could be told.")
        }
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        let writer = try await storage.makeWriter(key: key)
        // Hashed as the segments are copied into the original: the copy is the read the hash needs.
        let digest = UploadDigest()
        do {
            for segment in try await segmentKeys(of: upload, through: upload.length) {
                try await storage.read(key: segment, range: nil, chunkSize: 1 << 20) { chunk in
                    await digest.update(chunk)
                    try await writer.write(chunk)
                }
            }
            guard await writer.bytesWritten == upload.length else {
                throw APIError(.internalServerError, code: "upload_incomplete",
                               detail: "The stored bytes of this upload do not add up to its length; start it again.")
            }
            // Still ours? Had the claim been taken over, the segments read may not be the ones that were counted.
            guard try await uploads.renewClaim(id: upload.id, holder: holder, lease: lease) else {
                throw APIError(.conflict, code: "upload_busy",
                               detail: "Another request took this upload over while it was being completed; HEAD and go on.")
            }
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        // Without the client's own key, one made of the upload's id: a last PATCH sent again after its media was made
        // but not recorded here finds that media instead of making a second one.
        let outcome = try await handler.register(
            StoredUpload(key: key, format: format, size: upload.length, filename: upload.filename, sha256: await digest.finish()),
            user: user,
            isPublic: upload.isPublic, idempotencyKey: upload.idempotencyKey ?? "tus:\(upload.id.uuidString.lowercased())",
            trace: context.trace, logger: context.logger)
        if try await !uploads.completeUpload(id: upload.id, mediaId: outcome.media.id, holder: holder) {
            // The media stands; a PATCH that took the upload over finds it by the upload's idempotency key.
            context.logger.warning("resumable upload's claim lost as it completed; its media is found again by its key",
                                   metadata: ["upload_id": "\(upload.id)", "media_id": "\(outcome.media.id)"])
        }
        do {
            try await storage.deletePrefix(Self.prefix(upload.id))
        } catch {
            context.logger.warning("resumable upload's segments not removed; the Janitor will", metadata: [
                "upload_id": "\(upload.id)", "error": "\(error)",
            ])
        }
        // The original is counted by its media now: the upload's reservation is given back.
        if let allowance = handler.allowance { await allowance.release(upload.id, logger: context.logger) }
        context.logger.info("resumable upload complete", metadata: [
            "upload_id": "\(upload.id)", "media_id": "\(outcome.media.id)", "bytes": "\(upload.length)",
        ])
        return outcome.media.id
    }

    /// The stored segments by the offset they start at, with their sizes (one listing; no request per segment).
    private func segments(of upload: ResumableUpload) async throws -> [(start: Int64, key: String, size: Int64)] {
        var found: [(start: Int64, key: String, size: Int64)] = []
        try await storage.listPages(prefix: Self.prefix(upload.id), pageSize: 1000) { page in
            for blob in page {
                let name = blob.key.split(separator: "/").last.map(String.init) ?? ""
                if let start = name.split(separator: "-").first.flatMap({ Int64($0) }) {
                    found.append((start, blob.key, blob.size))
                }
            }
        }
        return found
    }

    /// Removes the segments at or past the counted offset (see `receive`); refuses to go on when it cannot.
    private func dropUncounted(_ upload: ResumableUpload, logger: Logger) async throws {
        for segment in try await segments(of: upload) where segment.start >= upload.offset {
            do {
                try await storage.delete(key: segment.key)
                logger.info("uncounted segment of a resumable upload removed", metadata: [
                    "upload_id": "\(upload.id)", "key": "\(segment.key)",
                ])
            } catch {
                logger.warning("uncounted segment not removed; the PATCH is refused", metadata: [
                    "upload_id": "\(upload.id)", "key": "\(segment.key)", "error": "\(error)",
                ])
                throw APIError.serviceUnavailable("storage_unavailable", "The upload's storage cannot be written; try again.")
            }
        }
    }

    /// The stored segments in offset order, the chain from 0 to `end`.
    private func segmentKeys(of upload: ResumableUpload, through end: Int64) async throws -> [String] {
        var byStart: [Int64: (key: String, size: Int64)] = [:]
        for segment in try await segments(of: upload) { byStart[segment.start] = (segment.key, segment.size) }
        var chain: [String] = []
        var cursor: Int64 = 0
        while cursor < end, let segment = byStart[cursor], segment.size > 0 {
            chain.append(segment.key)
            cursor += segment.size
        }
        guard cursor == end else {
            throw APIError(.internalServerError, code: "upload_incomplete",
                           detail: "The stored bytes of this upload do not add up to its offset; start it again.")
        }
        return chain
    }

    // MARK: support

    package enum Expired { case refused, allowed }

    /// The caller's upload: 404 for none or another user's (never telling which), 410 once it expired.
    private func owned(_ id: String?, user: AuthenticatedUser, logger: Logger, expired: Expired = .refused) async throws -> ResumableUpload {
        guard let id = id.flatMap(UUID.init(uuidString:)), let upload = try await uploads.upload(id: id),
              upload.userId == user.id
        else { throw APIError.notFound("No such upload.") }
        if expired == .refused, upload.mediaId == nil, upload.expiresAt < Date() {
            await removeQuietly(upload.id, why: "expired", logger: logger)
            throw APIError(.gone, code: "upload_expired", detail: "This upload expired; start a new one.")
        }
        return upload
    }

    /// Removes an upload's stored bytes, then its row.
    package func remove(_ id: UUID, why: String, logger: Logger) async throws {
        // Its reservation first: were storage to fail below, the room would otherwise stay taken until the expiry.
        if let allowance = handler.allowance { await allowance.release(id, logger: logger) }
        try await storage.deletePrefix(Self.prefix(id))
        try await uploads.deleteUpload(id: id)
        logger.info("resumable upload removed", metadata: ["upload_id": "\(id)", "why": "\(why)"])
    }

    /// `remove` where the request's answer does not depend on it: a failure is logged, and the Janitor's orphan
    /// sweep removes what is left once the upload expires.
    package func removeQuietly(_ id: UUID, why: String, logger: Logger) async {
        do {
            try await remove(id, why: why, logger: logger)
        } catch {
            logger.warning("resumable upload not removed; the Janitor will", metadata: [
                "upload_id": "\(id)", "why": "\(why)", "error": "\(error)",
            ])
        }
    }

    package static func prefix(_ id: UUID) -> String { "uploads/\(id.uuidString.lowercased())/" }

    private static func headers(for upload: ResumableUpload) -> HTTPFields {
        var headers = HTTPFields()
        headers.set("Tus-Resumable", version)
        if upload.mediaId == nil { headers.set("Upload-Expires", HTTPDate.format(upload.expiresAt)) }
        return headers
    }

    private func add(_ mediaId: Int64, to headers: inout HTTPFields) {
        headers.set("Media-Id", String(mediaId))
        headers.set("Media-Location", "\(baseURL)/api/media/\(mediaId)/")
    }

    /// `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone has an empty value).
    package static func metadata(_ header: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in header.split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first.map(String.init), !key.isEmpty else { continue }
            if parts.count == 1 {
                result[key] = ""
                continue
            }
            guard let data = Data(base64Encoded: String(parts[1])), let value = String(data: data, encoding: .utf8) else {
                throw APIError.badRequest("invalid_upload_metadata", "Upload-Metadata value of '\(key)' is not base64 UTF-8.")
            }
            result[key] = value
        }
        return result
    }
}

/// Writes a PATCH's bytes as segments: a new segment every `segmentSize` bytes, each stored, then counted in the
/// upload's offset (in that order: the offset never counts bytes that are not stored).
package struct SegmentWriter {
    package let upload: ResumableUpload
    package let holder: UUID
    package let storage: any BlobStorage
    package let store: any ResumableUploadStore
    package let logger: Logger
    /// Set once the first bytes told it; saved with the next offset.
    package var format: MediaFormat?
    /// Bytes stored and counted.
    private(set) var committed: Int64
    private var writer: (any BlobWriter)?
    private var key = ""
    private var pending: Int64 = 0
    private var segment = 0

    package init(upload: ResumableUpload, holder: UUID, storage: any BlobStorage, store: any ResumableUploadStore, logger: Logger) {
        self.upload = upload
        self.holder = holder
        self.storage = storage
        self.store = store
        self.logger = logger
        self.format = upload.format
        self.committed = upload.offset
    }

    package var offset: Int64 { committed + pending }

    package mutating func write(_ chunk: ByteBuffer) async throws {
        if writer == nil {
            // `<offset, 15 digits>-<request>-<n>`: sorted by offset, and never the name of another request's segment.
            segment += 1
            let digits = String(committed)
            key = ResumableUploadController.prefix(upload.id) + String(repeating: "0", count: max(0, 15 - digits.count))
                + digits + "-" + String(holder.uuidString.lowercased().prefix(8)) + "-\(segment)"
            writer = try await storage.makeWriter(key: key)
        }
        try await writer?.write(chunk)
        pending += Int64(chunk.readableBytes)
        if pending >= ResumableUploadController.segmentSize { _ = try await finish() }
    }

    /// Stores the segment in hand and moves the offset past it; returns the offset.
    package mutating func finish() async throws -> Int64 {
        guard let writer else { return committed }
        self.writer = nil
        guard pending > 0 else {
            await writer.abort()
            return committed
        }
        do {
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        let to = committed + pending
        // The last segment is counted with the media it makes (`ResumableUploadStore.completeUpload`), never before:
        // an upload whose media could not be made takes its last bytes again.
        guard to < upload.length else {
            committed = to
            pending = 0
            return committed
        }
        guard try await store.advanceUpload(id: upload.id, holder: holder, from: committed, to: to, format: format) else {
            do {
                try await storage.delete(key: key)
            } catch {
                logger.warning("segment of a lost claim not removed; the next PATCH removes it", metadata: [
                    "key": "\(key)", "error": "\(error)",
                ])
            }
            throw APIError(.conflict, code: "upload_busy", detail: "This upload was taken over by another request.")
        }
        committed = to
        pending = 0
        return committed
    }

    package mutating func abort() async {
        await writer?.abort()
        writer = nil
        pending = 0
    }
}

/// Bytes a PATCH received so far, and whether it is completing the upload: what its lease renewal reads.
package final class ByteProgress: Sendable {
    private let count = Atomic<Int>(0)
    private let completing = Atomic<Bool>(false)

    package init() {}
    package var bytes: Int { count.load(ordering: .relaxed) }
    package func add(_ n: Int) { count.add(n, ordering: .relaxed) }
    package var isCompleting: Bool {
        get { completing.load(ordering: .relaxed) }
        set { completing.store(newValue, ordering: .relaxed) }
    }
}
