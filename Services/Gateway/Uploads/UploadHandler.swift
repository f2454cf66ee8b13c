import Foundation
import GatewayFairUse
import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Metrics
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Tokens

/// `POST /api/media/upload/`: streams one file part to storage while judging it (SPEC §1.1).
///
/// The first bytes decide the format (magic bytes) and so the limit; bytes go to a storage writer that makes
/// nothing visible until commit; crossing the limit answers 413 at once and aborts the writer. Only after the
/// whole body arrived and passed is the row (with its outbox event) written, in one transaction.
package struct UploadHandler: Sendable {
    package let repository: any MediaRepository
    package let storage: any BlobStorage
    package let limits: MediaLimits
    /// The rate limit and the quota (SPEC §10); nil lets every upload through (unit tests of other concerns).
    package let allowance: UploadAllowance?
    package let onCreated: @Sendable () -> Void
    package let uploadedBytes = Counter(label: "mediaflow_upload_bytes_total")
    /// Uploads that matched one of the same user's media by content and share its files (SPEC §13).
    package let duplicates = Counter(label: "mediaflow_duplicate_uploads_total")
    package let uploads = Counter(label: "mediaflow_uploads_total")

    package init(repository: any MediaRepository, storage: any BlobStorage, limits: MediaLimits,
                 allowance: UploadAllowance? = nil, onCreated: @escaping @Sendable () -> Void) {
        self.repository = repository
        self.storage = storage
        self.limits = limits
        self.allowance = allowance
        self.onCreated = onCreated
    }

    package struct Outcome {
        package var media: Media
        package var created: Bool
        /// `RateLimit-*` of the rate limit's answer (SPEC §10), for the response.
        package var headers: HTTPFields

        package init(media: Media, created: Bool, headers: HTTPFields = [:]) {
            self.media = media
            self.created = created
            self.headers = headers
        }
    }

    /// - Parameter trace: the request's trace; its `media.uploaded` event carries it on (SPEC §3).
    package func handle(_ request: Request, user: AuthenticatedUser, trace: TraceParent? = nil, logger: Logger) async throws -> Outcome {
        let idempotencyKey = try Self.idempotencyKey(request)
        // A retry of an upload that already made its media (SPEC §1.4) is answered with that media, but only once its
        // own form proved as valid as the first one had to be: the file's bytes are read past, never stored.
        var replayOf: Media?
        if let key = idempotencyKey {
            replayOf = try await repository.find(userId: user.id, idempotencyKey: key)
        }
        // A replay is not charged again, and stores nothing, so it reserves nothing (SPEC §10).
        guard replayOf == nil, let allowance else {
            var unlimited: QuotaHold?
            return try await receive(request, user: user, idempotencyKey: idempotencyKey, replayOf: replayOf,
                                     hold: &unlimited, folder: UUID(), trace: trace, logger: logger)
        }
        // The rate statement and the reservation go at once (one round trip of waiting, not two), before the body:
        // a `Content-Length` that cannot fit is refused at once, whatever its size (a value past 2^63 - 1 is taken as
        // that, never wrapped); a body without one reserves as it streams. The reservation is named after the folder
        // the original will be written to, so the media row's insert settles it in its own transaction.
        let folder = UUID()
        let announced = request.headers[.contentLength].map { Int64($0.trimmingCharacters(in: .whitespaces)) ?? .max }
        async let charged = allowance.chargeUpload(user, route: "upload", logger: logger)
        async let reserved = allowance.reserve(user, bytes: announced ?? 0, id: folder, logger: logger)
        let rateHeaders: HTTPFields
        do {
            rateHeaders = try await charged
        } catch {
            if let id = try? await reserved { await allowance.release(id, logger: logger) }
            throw error
        }
        var hold: QuotaHold?
        do {
            hold = QuotaHold(id: try await reserved, reserved: announced ?? 0, user: user, allowance: allowance)
            var outcome = try await receive(request, user: user, idempotencyKey: idempotencyKey, replayOf: nil,
                                            hold: &hold, folder: folder, trace: trace, logger: logger)
            outcome.headers = rateHeaders
            if let hold {
                if outcome.created {
                    await allowance.settled(hold.id, logger: logger)
                } else {
                    // A concurrent retry with the same key made the media: this original was discarded.
                    await allowance.release(hold.id, logger: logger)
                }
            }
            return outcome
        } catch var error as APIError {
            if let hold { await allowance.release(hold.id, logger: logger) }
            error.headers.append(contentsOf: rateHeaders)
            throw error
        } catch {
            if let hold { await allowance.release(hold.id, logger: logger) }
            throw error
        }
    }

    /// Reads the form and the file, then registers it; `hold` is the upload's quota reservation, grown as a body without
    /// `Content-Length` streams past it.
    private func receive(
        _ request: Request, user: AuthenticatedUser, idempotencyKey: String?, replayOf: Media?, hold: inout QuotaHold?,
        folder: UUID, trace: TraceParent?, logger: Logger
    ) async throws -> Outcome {
        guard let contentType = request.headers[.contentType],
              let boundary = MultipartReader<RequestBody>.boundary(contentType: contentType)
        else {
            throw APIError.badRequest("file_missing", "Send the file as multipart/form-data in a part named 'file'.")
        }

        var reader = MultipartReader(body: request.body, boundary: boundary)
        var upload: StoredUpload?
        var isPublic = true
        var fileParts = 0
        var filePartNamed = false
        do {
            while let event = try await reader.next() {
                guard case .partStart(let headers) = event else { continue }
                if headers.filename != nil || headers.name == "file" {
                    fileParts += 1
                    guard fileParts == 1 else {
                        throw APIError.badRequest("too_many_files", "Send exactly one file per upload.")
                    }
                    guard headers.name == "file" else { try await skipPart(&reader); continue }
                    filePartNamed = true
                    guard replayOf == nil else { try await skipPart(&reader); continue }
                    upload = try await receiveFile(&reader, filename: headers.filename ?? "", folder: folder, hold: &hold,
                                                   logger: logger)
                } else if headers.name == "is_public" {
                    isPublic = try Self.parseBool(try await readField(&reader))
                } else {
                    try await skipPart(&reader)
                }
            }
        } catch let error as MultipartError {
            await upload?.discard(storage, logger: logger)
            throw APIError.badRequest("malformed_request", "Malformed multipart body: \(error.description).")
        } catch {
            await upload?.discard(storage, logger: logger)
            throw error
        }
        if let replayOf, filePartNamed {
            return Outcome(media: replayOf, created: false)
        }
        guard let upload else {
            throw APIError.badRequest("file_missing", "No file was submitted in a part named 'file'.")
        }

        return try await register(upload, user: user, isPublic: isPublic, idempotencyKey: idempotencyKey, trace: trace,
                                  logger: logger)
    }

    /// Turns an original that reached storage into a media: the row and its outbox event in one transaction (or the
    /// media an earlier upload with the same idempotency key made, and then this original is discarded). Plain and
    /// resumable uploads both end here, so a media is the same whichever way it came.
    package func register(
        _ upload: StoredUpload, user: AuthenticatedUser, isPublic: Bool, idempotencyKey: String?, trace: TraceParent?,
        logger: Logger
    ) async throws -> Outcome {
        let new = NewMedia(
            userId: user.id, username: user.username, format: upload.format, fileSize: upload.size,
            originalFilename: upload.filename, storageKey: upload.key, isPublic: isPublic,
            idempotencyKey: idempotencyKey, traceparent: trace?.header, sha256: upload.sha256)
        let result: CreateMediaResult
        do {
            result = try await repository.create(new)
        } catch {
            if DatabaseFailure.mayHaveCommitted(error) {
                // The row and its outbox entry may exist; deleting the original would leave them pointing at
                // nothing. At worst the file is an orphan, logged here, for the Janitor's orphan sweep (next round).
                logger.error("upload's commit outcome unknown; original kept", metadata: [
                    "storage_key": "\(upload.key)", "error": "\(DatabaseFailure.describe(error))",
                ])
            } else {
                await upload.discard(storage, logger: logger)
            }
            throw error
        }
        switch result {
        case .created(let media):
            uploads.increment()
            uploadedBytes.increment(by: Int(upload.size))
            if media.storageKey != upload.key {
                // A duplicate (SPEC §13): the media records the files of one with the same content; this copy is surplus.
                duplicates.increment()
                logger.info("duplicate upload shares the files of an earlier media", metadata: [
                    "media_id": "\(media.id)", "duplicate_of": "\(media.metadata[Duplicates.metadataKey]?.intValue ?? 0)",
                    "status": "\(media.status.rawValue)",
                ])
                await upload.discard(storage, logger: logger)
            }
            logger.info("media uploaded", metadata: [
                "media_id": "\(media.id)", "user_id": "\(user.id)", "format": "\(media.format.rawValue)",
                "bytes": "\(media.fileSize)",
            ])
            onCreated()
            return Outcome(media: media, created: true)
        case .existing(let media):
            // A concurrent retry with the same key won; ours is surplus.
            await upload.discard(storage, logger: logger)
            return Outcome(media: media, created: false)
        }
    }

    /// Receives the file part: sniffs, checks extension, enforces the limit while streaming to storage.
    private func receiveFile(
        _ reader: inout MultipartReader<RequestBody>, filename: String, folder: UUID, hold: inout QuotaHold?, logger: Logger
    ) async throws -> StoredUpload {
        var head = ByteBuffer()
        var ended = false
        // Gather enough leading bytes to judge the content.
        while head.readableBytes < ContentSniffer.minimumPrefix {
            guard let event = try await reader.next() else { throw MultipartError("body ended inside the file part") }
            if case .bodyChunk(var chunk) = event {
                head.writeBuffer(&chunk)
            } else {
                ended = true
                break
            }
        }
        guard head.readableBytes > 0 else { throw APIError.badRequest("empty_file", "The submitted file is empty.") }
        let cleanName = Self.cleanFilename(filename)
        let format = try Self.judge(head: Array(head.readableBytesView), filename: cleanName)
        let limit = limits.maxBytes(for: format.fileType)
        let tooLarge = tooLarge(format.fileType)
        guard Int64(head.readableBytes) <= limit else { throw tooLarge }
        try await hold?.cover(Int64(head.readableBytes), logger: logger)

        let key = StorageKeys.original(folder: folder.uuidString.lowercased(), format: format)
        let writer = try await storage.makeWriter(key: key)
        var size = Int64(head.readableBytes)
        let digest = UploadDigest()
        do {
            await digest.update(head)
            try await writer.write(head)
            while !ended, let event = try await reader.next() {
                guard case .bodyChunk(let chunk) = event else { break }
                size += Int64(chunk.readableBytes)
                if size > limit {
                    logger.info("upload over the limit; stopped reading", metadata: [
                        "format": "\(format.rawValue)", "limit": "\(limit)",
                    ])
                    throw tooLarge
                }
                try await hold?.cover(size, logger: logger)
                await digest.update(chunk)
                try await writer.write(chunk)
            }
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
        return StoredUpload(key: key, format: format, size: size, filename: cleanName, sha256: await digest.finish())
    }

    /// The type a (cleaned) file name announces by its extension; 415 when it is no supported one.
    package static func announcedType(of filename: String) throws -> FileType {
        guard let announced = SupportedExtensions.fileType(forFilename: filename) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           detail: "The file extension of '\(filename)' is not a supported one.")
        }
        return announced
    }

    /// The first bytes against the name (SPEC §1.1): the content decides the format; the extension must announce the
    /// same type.
    package static func judge(head: [UInt8], filename: String) throws -> MediaFormat {
        guard let format = ContentSniffer.sniff(head) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           detail: "The file's content is not a supported image, video or audio format.")
        }
        let announced = try announcedType(of: filename)
        guard announced == format.fileType else {
            throw APIError.badRequest("type_mismatch",
                "The file's name says \(announced.rawValue) but its content is \(format.fileType.rawValue) (\(format.rawValue)).")
        }
        return format
    }

    package func tooLarge(_ type: FileType) -> APIError {
        APIError(.contentTooLarge, code: "file_too_large",
                 detail: "File size exceeds maximum allowed size (\(limits.describeLimit(for: type)))")
    }

    private func skipPart(_ reader: inout MultipartReader<RequestBody>) async throws {
        while let event = try await reader.next() {
            if case .partEnd = event { return }
        }
    }

    private func readField(_ reader: inout MultipartReader<RequestBody>) async throws -> String {
        var value = ByteBuffer()
        while let event = try await reader.next() {
            switch event {
            case .bodyChunk(var chunk):
                value.writeBuffer(&chunk)
                guard value.readableBytes <= 1024 else {
                    throw APIError.badRequest("invalid_field", "A form field is too long.")
                }
            case .partEnd, .partStart:
                return String(buffer: value)
            }
        }
        return String(buffer: value)
    }

    /// `is_public`: `true` or `false` (any case), as SPEC §1.1 and the schema say; anything else is refused rather than
    /// guessed at.
    package static func parseBool(_ text: String) throws -> Bool {
        switch text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "true": return true
        case "false": return false
        default: throw APIError.badRequest("invalid_field", "is_public must be true or false.")
        }
    }

    package static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers.first(where: { $0.name.canonicalName == "idempotency-key" })?.value else {
            return nil
        }
        return try validIdempotencyKey(key)
    }

    /// An idempotency key (the header, or a resumable upload's `idempotency_key` metadata): 1 to 255 printable ASCII.
    package static func validIdempotencyKey(_ key: String) throws -> String {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) || $0 == 0x20 }) else {
            throw APIError.badRequest(
                "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters.")
        }
        return key
    }

    /// The client's name, kept as metadata only: its last path component, without control characters, at most
    /// `maxLength` characters. A longer name loses the end of its stem, never its extension: the
    /// extension is what the upload is judged by, and what a person recognises the file by.
    package static func cleanFilename(_ name: String, maxLength: Int = 255) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = String(last.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        guard cleaned.count > maxLength else { return cleaned }
        var suffix = ""
        if let dot = cleaned.lastIndex(of: "."), cleaned.distance(from: dot, to: cleaned.endIndex) <= 16 {
            suffix = String(cleaned[dot...])
        }
        return String(cleaned.prefix(maxLength - suffix.count)) + suffix
    }
}

/// A plain upload's quota reservation while its body arrives.
struct QuotaHold {
    let id: UUID
    /// Bytes reserved so far: the `Content-Length`, or what a body without one has been granted.
    var reserved: Int64
    let user: AuthenticatedUser
    let allowance: UploadAllowance

    /// Makes sure `size` bytes are reserved, growing by at least 8 MiB (or doubling) at a time where there is room: a
    /// statement per step, not per chunk. 413 `quota_exceeded` as soon as the streamed bytes no longer fit.
    mutating func cover(_ size: Int64, logger: Logger) async throws {
        guard size > reserved else { return }
        let need = size - reserved
        reserved += try await allowance.grow(id, of: user, step: max(need, 8 << 20, reserved), need: need, total: size,
                                             logger: logger)
    }
}

/// An original that reached storage; discarded again if the upload fails afterwards.
package struct StoredUpload {
    package var key: String
    package var format: MediaFormat
    package var size: Int64
    package var filename: String
    /// SHA-256 of the stored bytes, lowercase hex (`UploadDigest`).
    package var sha256: String?

    package init(key: String, format: MediaFormat, size: Int64, filename: String, sha256: String?) {
        self.key = key
        self.format = format
        self.size = size
        self.filename = filename
        self.sha256 = sha256
    }

    /// Removes the original and its folder (one prefix delete covers both). A failure leaves an orphan no row
    /// points at: logged with its folder, and the Janitor's orphan sweep removes it.
    package func discard(_ storage: any BlobStorage, logger: Logger) async {
        await storage.removeMediaFiles(original: key, why: "upload refused", logger: logger)
    }
}
