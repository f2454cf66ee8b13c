import Foundation
import MediaDomain

/// A resumable (tus) upload in progress (SPEC §8): who sends it, what it will be, and how many of its bytes are
/// stored. It lives in PostgreSQL, not in a Gateway's memory, so a restarted or different Gateway continues it.
public struct ResumableUpload: Sendable, Equatable {
    public var id: UUID
    public var userId: Int64
    public var username: String
    /// The client's file name (metadata only), already cleaned.
    public var filename: String
    public var isPublic: Bool
    public var idempotencyKey: String?
    /// `Upload-Length`: the whole file's size, known at creation.
    public var length: Int64
    /// `Upload-Offset`: bytes stored so far.
    public var offset: Int64
    /// Decided by the first bytes; nil before they arrived.
    public var format: MediaFormat?
    public var expiresAt: Date
    /// The media the upload became, once complete.
    public var mediaId: Int64?
    /// `Upload-Metadata` as the client sent it (HEAD answers it back).
    public var metadata: String?

    public init(id: UUID, userId: Int64, username: String, filename: String, isPublic: Bool, idempotencyKey: String?,
                length: Int64, offset: Int64 = 0, format: MediaFormat? = nil, expiresAt: Date, mediaId: Int64? = nil,
                metadata: String? = nil) {
        self.id = id
        self.userId = userId
        self.username = username
        self.filename = filename
        self.isPublic = isPublic
        self.idempotencyKey = idempotencyKey
        self.length = length
        self.offset = offset
        self.format = format
        self.expiresAt = expiresAt
        self.mediaId = mediaId
        self.metadata = metadata
    }
}

/// Where resumable uploads are recorded. One PATCH at a time writes an upload: it claims the upload for a short lease
/// it renews while bytes arrive, so a second PATCH is refused instead of interleaving, and a Gateway that died
/// mid-PATCH holds nothing once its lease ran out.
public protocol ResumableUploadStore: Sendable {
    func createUpload(_ upload: ResumableUpload) async throws
    func upload(id: UUID) async throws -> ResumableUpload?
    /// Claims the upload for `holder` until `lease` from now, unless another holder's lease is still running.
    /// Returns the upload as claimed, or nil when it is busy (or gone).
    func claimUpload(id: UUID, holder: UUID, lease: Duration) async throws -> ResumableUpload?
    /// Extends `holder`'s claim; false when it no longer holds it.
    func renewClaim(id: UUID, holder: UUID, lease: Duration) async throws -> Bool
    func releaseClaim(id: UUID, holder: UUID) async throws
    /// Records stored bytes: the offset moves from `from` to `to` (and the format is set once known), only while
    /// `holder` holds the claim and the offset is still `from`. Returns whether it did.
    func advanceUpload(id: UUID, holder: UUID, from: Int64, to: Int64, format: MediaFormat?) async throws -> Bool
    /// Marks the upload complete (every byte counted, and it became `mediaId`) if `holder` still holds its claim.
    /// Returns whether it did.
    @discardableResult
    func completeUpload(id: UUID, mediaId: Int64, holder: UUID) async throws -> Bool
    func deleteUpload(id: UUID) async throws
    /// Uploads whose expiry passed before `date`, oldest first (the Janitor removes them: unfinished ones with their
    /// bytes, finished ones are only the record that HEAD answered from).
    func expiredUploads(before date: Date, limit: Int) async throws -> [UUID]
}
