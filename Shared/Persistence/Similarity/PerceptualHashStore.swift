import MediaDomain

/// A change of one media's perceptual hash (SPEC §13 `metadata.phash`): set, changed or cleared (`hash` nil, as
/// when a reprocess starts over).
public struct PerceptualHashChange: Sendable, Equatable {
    public var mediaId: Int64
    public var hash: UInt64?
    /// Grows with every change, across all users: where the next read starts.
    public var sequence: Int64

    public init(mediaId: Int64, hash: UInt64?, sequence: Int64) {
        self.mediaId = mediaId
        self.hash = hash
        self.sequence = sequence
    }
}

/// What `GET /api/media/{id}/similar/` reads: a user's perceptual hashes as changes since a point, and the media
/// objects of the matches. Deleted media are not announced as changes: the caller drops ids `media(ids:userId:)`
/// no longer returns.
public protocol PerceptualHashStore: Sendable {
    /// The user's hash changes with a sequence above `sequence`, in sequence order, at most `limit`.
    func perceptualHashChanges(userId: Int64, after sequence: Int64, limit: Int) async throws -> [PerceptualHashChange]
    /// Of `ids`, the media that still exist and belong to `userId`, in no particular order.
    func media(ids: [Int64], userId: Int64) async throws -> [Media]
    /// Of `ids`, those that still exist and belong to `userId`.
    func existingIds(_ ids: [Int64], userId: Int64) async throws -> Set<Int64>
}
