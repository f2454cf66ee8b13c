import Foundation
import MediaDomain

/// The media rows and their outbox, behind one seam: the Gateway's handlers and status consumer are written
/// against this protocol; `PostgresMediaRepository` is the real one, `MemoryMediaRepository` the unit-test one.
///
/// Every write that must be announced (create, reprocess) writes its `media.uploaded` outbox row in the
/// same transaction as the media row, so an event is published if and only if the row exists.
public protocol MediaRepository: MediaFolderUsage {
    /// Inserts the row (status `processing`, generation 1) and its `media.uploaded` outbox row.
    /// With an idempotency key already used by the same user in the last 24 hours, returns that media instead.
    func create(_ new: NewMedia) async throws -> CreateMediaResult
    func find(id: Int64) async throws -> Media?
    /// The media a user created with this idempotency key in the last 24 hours.
    func find(userId: Int64, idempotencyKey: String) async throws -> Media?
    /// The media whose files live under `prefix` (a storage folder), for file serving.
    func find(storagePrefix prefix: String) async throws -> Media?
    func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media])
    func stats(userId: Int64) async throws -> MediaStats
    /// Changes visibility of the caller's own media; nil when it has no such media.
    func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media?
    /// Deletes the caller's own media row and returns it (so its files can go too); nil when absent.
    func delete(id: Int64, userId: Int64) async throws -> Media?
    /// Starts a new generation of a failed media and outboxes its `media.uploaded`.
    func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult
    /// Folds an outcome event into its row, once per event id, ignoring older generations and deleted media.
    func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult
}

public enum CreateMediaResult: Sendable, Equatable {
    case created(Media)
    /// The same user sent the same `Idempotency-Key` within 24 hours: this is what the first upload made.
    case existing(Media)
}

/// Ways a media is processed again as a new generation (SPEC §7, §13).
public enum RestartKind: Sendable, Equatable {
    /// A failed media, anew.
    case reprocess
    /// A media failed with `malware_detected` whose original staff moved back from quarantine: processed unscanned.
    case release
    /// A ready or failed media, scanned and processed again (staff's rescan).
    case rescan

    public func startsFrom(_ media: Media) -> Bool {
        switch self {
        case .reprocess: media.status == .failed
        case .release: media.status == .failed && media.metadata["error"]?.objectValue?["code"] == .string(Quarantine.errorCode)
        // A quarantined media's original is not where a job reads it: release or delete it instead.
        case .rescan: media.status == .ready || (media.status == .failed && !RestartKind.release.startsFrom(media))
        }
    }
}

/// `notFailed`: the media does not stand where the asked restart starts from (carried back to say where it is).
public enum ReprocessResult: Sendable, Equatable {
    case notFound
    case notFailed(Media)
    case started(Media)
}

/// The events the Gateway folds into rows.
public enum MediaOutcome: Sendable, Equatable {
    case ready(MediaReady)
    case failed(MediaFailed)
    case progress(MediaProgress)

    public var eventId: UUID {
        switch self {
        case .ready(let e): e.eventId
        case .failed(let e): e.eventId
        case .progress(let e): e.eventId
        }
    }

    public var mediaId: Int64 {
        switch self {
        case .ready(let e): e.mediaId
        case .failed(let e): e.mediaId
        case .progress(let e): e.mediaId
        }
    }
}

public enum FoldResult: Sendable, Equatable {
    /// The row changed.
    case applied
    /// This event id was folded before (a redelivery).
    case duplicate
    /// The media is gone, or the event belongs to an older generation / a finished job.
    case ignored
}

/// One event waiting in the outbox.
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var eventId: UUID
    public var exchange: String
    public var routingKey: String
    public var eventType: String
    public var body: [UInt8]
    /// The W3C `traceparent` the event is published with (SPEC §3), when the request that made it had one.
    public var traceparent: String?

    public init(id: Int64, eventId: UUID, exchange: String, routingKey: String, eventType: String, body: [UInt8],
                traceparent: String? = nil) {
        self.traceparent = traceparent
        self.id = id
        self.eventId = eventId
        self.exchange = exchange
        self.routingKey = routingKey
        self.eventType = eventType
        self.body = body
    }

    /// The outbox row of a `media.uploaded` event (id assigned by the store).
    public static func uploaded(_ event: MediaUploaded) throws -> OutboxEntry {
        OutboxEntry(
            id: 0, eventId: event.eventId, exchange: MediaEvents.exchange,
            routingKey: MediaEvents.uploadedRoutingKey(event.fileType), eventType: MediaEvents.uploaded,
            body: Array(try EventCoding.encoder().encode(event)))
    }

    /// The outbox row of a `media.failed` event decided outside a processor (the Janitor's `processing_timeout`).
    public static func failed(_ event: MediaFailed) throws -> OutboxEntry {
        OutboxEntry(
            id: 0, eventId: event.eventId, exchange: MediaEvents.exchange, routingKey: MediaEvents.failed,
            eventType: MediaEvents.failed, body: Array(try EventCoding.encoder().encode(event)))
    }
}

/// The outbox as the relay sees it: claim, publish, then mark sent or release. Each step is its own short
/// statement, so no row lock or open transaction lasts while the relay waits for the broker's confirms.
public protocol OutboxStore: Sendable {
    /// Claims up to `limit` unsent entries, oldest first, for `lease`: no other relay takes them until it runs out.
    /// Entries another relay holds are skipped. A relay that dies mid-batch leaves its claims to expire, and its
    /// entries are published again (consumers dedupe on the event id).
    func claimOutbox(limit: Int, lease: Duration) async throws -> [OutboxEntry]
    /// Marks claimed entries published.
    func markSent(_ ids: [Int64]) async throws
    /// Gives claimed entries back after a failed publish, with the reason, so the next pass takes them again.
    func releaseClaims(_ ids: [Int64], error: String) async throws
    /// How many entries wait to be sent (for metrics and readiness).
    func pendingCount() async throws -> Int
}

/// Event ids a consumer has handled, so a redelivered event is acted on once.
public protocol InboxStore: Sendable {
    /// Whether `consumer` already handled `eventId`.
    func contains(consumer: String, eventId: UUID) async throws -> Bool
    /// Records the event as handled; returns false when it was recorded already.
    @discardableResult
    func record(consumer: String, eventId: UUID) async throws -> Bool
}

/// The metadata a row keeps after an outcome: what the processor learned plus the processing record.
enum MetadataFolding {
    static func ready(_ current: [String: JSONValue], _ event: MediaReady) -> [String: JSONValue] {
        var merged = event.metadata
        merged["processing_ms"] = .int(Int64(event.processingMs))
        if merged["attempts"] == nil { merged["attempts"] = current["attempts"] ?? 1 }
        // Staff's release from quarantine is the row's, not the processor's: it stays (SPEC §13).
        if let released = current[Quarantine.releasedKey] { merged[Quarantine.releasedKey] = released }
        // Location data never reaches a client, whatever a processor sent.
        for key in ["gps", "GPS", "location", "exif"] { merged.removeValue(forKey: key) }
        return merged
    }

    static func failed(_ current: [String: JSONValue], _ event: MediaFailed) -> [String: JSONValue] {
        var merged = current
        merged.removeValue(forKey: "progress")
        merged["error"] = ["code": .string(event.error.code), "message": .string(event.error.message)]
        merged["attempts"] = .int(Int64(event.attempts))
        return merged
    }
}
