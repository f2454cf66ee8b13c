import Foundation
import MediaDomain

/// One thing a user's clients are told about their media (SPEC §8): `media.progress`, `media.ready`, `media.failed`
/// or `media.deleted`, numbered in the order they were recorded across every process.
public struct MediaEventRecord: Sendable, Equatable {
    public static let types = ["media.progress", "media.ready", "media.failed", "media.deleted"]

    public var id: Int64
    public var userId: Int64
    public var mediaId: Int64
    /// `media.progress`, `media.ready`, `media.failed` or `media.deleted`.
    public var type: String
    /// The job's progress, for `media.progress`.
    public var percent: Double?
    /// What the event tells about: the row as the event left it (`media.ready`, `media.failed`) or as it was before
    /// (`media.deleted`), kept with the event, so a replay tells what happened then; nil for `media.progress`, whose
    /// data is only the id and the percentage.
    public var media: Media?
    public var createdAt: Date

    public init(id: Int64, userId: Int64, mediaId: Int64, type: String, percent: Double?, media: Media?, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.mediaId = mediaId
        self.type = type
        self.percent = percent
        self.media = media
        self.createdAt = createdAt
    }
}

/// The media events as recorded (migration 9: a trigger writes one in the transaction of every change that is one, and
/// announces it on the `media_events` channel as `"<event id> <user id>"`).
public protocol MediaEventLog: Sendable {
    /// A user's events after `id`, oldest first, none older than `maxAge` (a stream resumes from `Last-Event-ID`).
    func events(userId: Int64, after id: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord]
    /// Every user's events after `id`, oldest first (what a listener that lost its connection catches up with).
    func events(after id: Int64, limit: Int) async throws -> [MediaEventRecord]
    /// The events of these ids (those just announced), oldest first.
    func events(ids: [Int64]) async throws -> [MediaEventRecord]
    /// The newest event's id (0 when there is none): where a process that just started begins.
    func latestEventId() async throws -> Int64
    /// Deletes events older than `age`; returns how many.
    func pruneEvents(olderThan age: Duration) async throws -> Int
}
