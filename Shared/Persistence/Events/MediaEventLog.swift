import Foundation

/// One thing a user's clients are told about their media (SPEC §8): `media.progress`, `media.ready`, `media.failed`
/// or `media.deleted`, numbered in the order they happened across every process.
public struct MediaEventRecord: Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var mediaId: Int64
    /// `media.progress`, `media.ready`, `media.failed` or `media.deleted`.
    public var type: String
    /// The job's progress, for `media.progress`.
    public var percent: Double?
    /// The row as it was, for `media.deleted` (JSON of its columns): the media is gone by the time it is read.
    public var snapshot: String?
    public var createdAt: Date

    public init(id: Int64, userId: Int64, mediaId: Int64, type: String, percent: Double?, snapshot: String?, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.mediaId = mediaId
        self.type = type
        self.percent = percent
        self.snapshot = snapshot
        self.createdAt = createdAt
    }
}

/// The media events as recorded (migration 9: a trigger writes one in the transaction of every change that is one, and
/// announces it on the `media_events` channel as `"<event id> <user id>"`).
public protocol MediaEventLog: Sendable {
    /// A user's events after `id`, oldest first, none older than `maxAge` (a stream resumes from `Last-Event-ID`).
    func events(userId: Int64, after id: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord]
    /// Every user's events after `id`, oldest first (what a process that fans events out reads after a notification).
    func events(after id: Int64, limit: Int) async throws -> [MediaEventRecord]
    /// The newest event's id (0 when there is none): where a process that just started begins.
    func latestEventId() async throws -> Int64
    /// Deletes events older than `age`; returns how many.
    func pruneEvents(olderThan age: Duration) async throws -> Int
}
