import Foundation
import MediaDomain

/// One thing a user's clients are told about their media (SPEC §8): `media.progress`, `media.ready`, `media.failed`
/// or `media.deleted`, numbered in the order they became visible across every process (`position`).
public struct MediaEventRecord: Sendable, Equatable {
    public static let types = ["media.progress", "media.ready", "media.failed", "media.deleted"]

    /// The row's id (webhook deliveries name their event by it).
    public var id: Int64
    /// Where the event stands in every stream: given when its transaction commits, so positions grow in the order
    /// events become visible (`TriggerFunction.mediaEventPosition`). Streams send it as the SSE `id`, and
    /// `Last-Event-ID` resumes after it.
    public var position: Int64
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

    public init(id: Int64, position: Int64, userId: Int64, mediaId: Int64, type: String, percent: Double?, media: Media?,
                createdAt: Date) {
        self.id = id
        self.position = position
        self.userId = userId
        self.mediaId = mediaId
        self.type = type
        self.percent = percent
        self.media = media
        self.createdAt = createdAt
    }
}

/// The media events as recorded (`TriggerFunction.mediaRecordEvent` writes one in the transaction of every change that
/// is one; `mediaEventPosition` numbers it at commit and announces it on `media_events` as `"<position> <user id>"`).
/// Reads walk positions: whatever a read returns, every lower position it will ever see is in it.
public protocol MediaEventLog: Sendable {
    /// A user's events after `position`, in position order, none older than `maxAge` (a stream resumes from
    /// `Last-Event-ID`).
    func events(userId: Int64, after position: Int64, maxAge: Duration, limit: Int) async throws -> [MediaEventRecord]
    /// Every user's events after `position`, in order (what a listener that lost its connection catches up with).
    func events(after position: Int64, limit: Int) async throws -> [MediaEventRecord]
    /// The events at these positions (those just announced), in order.
    func events(positions: [Int64]) async throws -> [MediaEventRecord]
    /// The events of these row ids (a webhook delivery's), oldest first.
    func events(ids: [Int64]) async throws -> [MediaEventRecord]
    /// The newest event's position (0 when there is none): where a process that just started begins.
    func latestPosition() async throws -> Int64
    /// Deletes events older than `age`; returns how many.
    func pruneEvents(olderThan age: Duration) async throws -> Int
}
