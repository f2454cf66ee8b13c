import Foundation
import MediaDomain
import Synchronization

/// `MediaRepository`, `OutboxStore` and `InboxStore` in memory, with the same rules as the Postgres one,
/// for unit tests of the Gateway and the processors.
public final class MemoryMediaRepository: MediaRepository, OutboxStore, InboxStore {
    struct State {
        var rows: [Int64: Media] = [:]
        var idempotencyKeys: [Int64: String] = [:]
        var republishes: [Int64: Int] = [:]
        var nextId: Int64 = 1
        var outbox: [OutboxRow] = []
        var inbox: Set<String> = []
        var runs: [JanitorRun] = []
        var janitorEpoch: Int64 = 0
        /// Each media's perceptual hash as last reported by `perceptualHashChanges`, with its sequence.
        var reportedHashes: [Int64: (hash: UInt64?, sequence: Int64)] = [:]
        var hashSequence: Int64 = 0
    }

    struct OutboxRow {
        var entry: OutboxEntry
        var sent = false
        var claimedUntil: ContinuousClock.Instant?
        var attempts = 0
        var lastError: String?
    }

    let state = Mutex(State())

    public init() {}

    /// Every outbox entry written so far, sent or not (for tests).
    public var outboxEntries: [OutboxEntry] { state.withLock { $0.outbox.map(\.entry) } }

    public func create(_ new: NewMedia) async throws -> CreateMediaResult {
        try state.withLock { s in
            let now = Date()
            if let key = new.idempotencyKey,
               let existing = s.rows.values.first(where: {
                   $0.userId == new.userId && s.idempotencyKeys[$0.id] == key
                       && now.timeIntervalSince($0.createdAt) < 86_400
               })
            {
                return .existing(existing)
            }
            let source = new.sha256.flatMap { sha in
                Duplicates.source(among: s.rows.values.filter { $0.userId == new.userId && $0.sha256 == sha })
            }
            var media = Media(
                id: s.nextId, userId: new.userId, username: new.username, fileType: new.format.fileType,
                status: .processing, fileSize: new.fileSize, mimeType: new.format.mimeType, format: new.format,
                originalFilename: new.originalFilename, storageKey: new.storageKey, isPublic: new.isPublic,
                createdAt: now, updatedAt: now, sha256: new.sha256)
            if let source {
                media.status = source.status
                media.storageKey = source.storageKey
                media.renditions = source.renditions
                (media.width, media.height, media.duration, media.bitrate) = (source.width, source.height, source.duration, source.bitrate)
                media.metadata = Duplicates.followerMetadata(of: source)
                media.generation = source.generation
            }
            s.nextId += 1
            s.rows[media.id] = media
            if let key = new.idempotencyKey { s.idempotencyKeys[media.id] = key }
            if source == nil { try Self.enqueue(media, into: &s, traceparent: new.traceparent) }
            return .created(media)
        }
    }

    static func enqueue(_ media: Media, into s: inout State, traceparent: String? = nil) throws {
        var entry = try OutboxEntry.uploaded(media.uploadedEvent())
        entry.traceparent = traceparent
        entry.id = Int64(s.outbox.count + 1)
        s.outbox.append(OutboxRow(entry: entry))
    }

    public func find(id: Int64) async throws -> Media? { state.withLock { $0.rows[id] } }

    public func find(userId: Int64, idempotencyKey: String) async throws -> Media? {
        state.withLock { s in
            s.rows.values.first {
                $0.userId == userId && s.idempotencyKeys[$0.id] == idempotencyKey
                    && Date().timeIntervalSince($0.createdAt) < 86_400
            }
        }
    }

    public func find(storagePrefix prefix: String) async throws -> Media? {
        state.withLock { s in s.rows.values.first { $0.storageKey.hasPrefix(prefix) } }
    }

    public func isFolderInUse(_ folderName: String) async throws -> Bool {
        state.withLock { s in s.rows.values.contains { StorageKeys.mediaFolderName(of: $0.storageKey) == folderName } }
    }

    public func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media]) {
        state.withLock { s in
            let matching = s.rows.values
                .filter {
                    $0.userId == query.userId && (query.fileType == nil || $0.fileType == query.fileType)
                        && (query.status == nil || $0.status == query.status)
                }
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            return (matching.count, Array(matching.dropFirst(query.offset).prefix(query.limit)))
        }
    }

    public func stats(userId: Int64) async throws -> MediaStats {
        state.withLock { s in
            let mine = s.rows.values.filter { $0.userId == userId }
            return MediaStats(
                total: Int64(mine.count),
                byType: Dictionary(grouping: mine, by: \.fileType).mapValues { Int64($0.count) },
                byStatus: Dictionary(grouping: mine, by: \.status).mapValues { Int64($0.count) },
                totalSize: mine.reduce(0) { $0 + $1.fileSize })
        }
    }

    public func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media? {
        state.withLock { s in
            guard var media = s.rows[id], media.userId == userId else { return nil }
            media.isPublic = isPublic
            media.updatedAt = Date()
            s.rows[id] = media
            return media
        }
    }

    public func delete(id: Int64, userId: Int64) async throws -> Media? {
        state.withLock { s in
            guard let media = s.rows[id], media.userId == userId else { return nil }
            s.rows[id] = nil
            return media
        }
    }

    public func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult {
        try restart(id: id, userId: userId, kind: .reprocess)
    }

    func restart(id: Int64, userId: Int64, kind: RestartKind) throws -> ReprocessResult {
        try state.withLock { s in
            guard var media = s.rows[id], media.userId == userId else { return .notFound }
            guard kind.startsFrom(media) else { return .notFailed(media) }
            if kind == .release { media.metadata[Quarantine.releasedKey] = .bool(true) }
            if kind == .rescan { media.metadata.removeValue(forKey: Quarantine.releasedKey) }
            media.status = .processing
            let folder = StorageKeys.mediaFolderName(of: media.storageKey)
            media.generation = s.rows.values.filter { StorageKeys.mediaFolderName(of: $0.storageKey) == folder }
                .map(\.generation).max().map { $0 + 1 } ?? media.generation + 1
            media.renditions = [:]
            media.metadata.removeValue(forKey: "error")
            media.metadata.removeValue(forKey: Duplicates.metadataKey)
            media.updatedAt = Date()
            s.rows[id] = media
            s.republishes[id] = nil
            try Self.enqueue(media, into: &s)
            return .started(media)
        }
    }

    public func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult {
        state.withLock { s in
            guard s.inbox.insert("\(consumer)/\(outcome.eventId)").inserted else { return .duplicate }
            let followed = Self.foldFollowers(of: outcome, into: &s)
            guard var media = s.rows[outcome.mediaId] else { return followed > 0 ? .applied : .ignored }
            switch outcome {
            case .ready(let e):
                guard e.generation == media.generation else { return .ignored }
                media.status = .ready
                media.renditions = e.renditions
                media.width = e.width
                media.height = e.height
                media.duration = e.duration
                media.bitrate = e.bitrate
                media.metadata = MetadataFolding.ready(media.metadata, e)
            case .failed(let e):
                guard e.generation == media.generation, media.status == .processing else { return .ignored }
                media.status = .failed
                media.metadata = MetadataFolding.failed(media.metadata, e)
            case .progress(let e):
                guard e.generation == media.generation, media.status == .processing else { return .ignored }
                media.metadata["progress"] = .double(e.percent)
            }
            media.updatedAt = Date()
            s.rows[media.id] = media
            return .applied
        }
    }

    /// The outcome of a media's job given to the duplicates waiting on it (as `PostgresMediaRepository` does).
    static func foldFollowers(of outcome: MediaOutcome, into s: inout State) -> Int {
        var changed = 0
        for var follower in s.rows.values where follower.status == .processing
            && follower.metadata[Duplicates.metadataKey]?.intValue == outcome.mediaId
        {
            switch outcome {
            case .ready(let e) where e.generation == follower.generation:
                follower.status = .ready
                follower.renditions = e.renditions
                (follower.width, follower.height, follower.duration, follower.bitrate) = (e.width, e.height, e.duration, e.bitrate)
                follower.metadata = Duplicates.followerMetadata(
                    leader: MetadataFolding.ready(follower.metadata, e), follower: follower.metadata)
            case .failed(let e) where e.generation == follower.generation:
                follower.status = .failed
                follower.metadata = MetadataFolding.failed(follower.metadata, e)
            default: continue
            }
            follower.updatedAt = Date()
            s.rows[follower.id] = follower
            changed += 1
        }
        return changed
    }

    public func claimOutbox(limit: Int, lease: Duration) async throws -> [OutboxEntry] {
        let now = ContinuousClock.now
        return state.withLock { s in
            var claimed: [OutboxEntry] = []
            for i in s.outbox.indices where claimed.count < limit && !s.outbox[i].sent {
                if let until = s.outbox[i].claimedUntil, until > now { continue }
                s.outbox[i].claimedUntil = now + lease
                s.outbox[i].attempts += 1
                claimed.append(s.outbox[i].entry)
            }
            return claimed
        }
    }

    public func markSent(_ ids: [Int64]) async throws {
        let ids = Set(ids)
        state.withLock { s in
            for i in s.outbox.indices where ids.contains(s.outbox[i].entry.id) {
                s.outbox[i].sent = true
                s.outbox[i].claimedUntil = nil
            }
        }
    }

    public func releaseClaims(_ ids: [Int64], error: String) async throws {
        let ids = Set(ids)
        state.withLock { s in
            for i in s.outbox.indices where ids.contains(s.outbox[i].entry.id) && !s.outbox[i].sent {
                s.outbox[i].claimedUntil = nil
                s.outbox[i].lastError = error
            }
        }
    }

    public func pendingCount() async throws -> Int { state.withLock { $0.outbox.filter { !$0.sent }.count } }

    public func contains(consumer: String, eventId: UUID) async throws -> Bool {
        state.withLock { $0.inbox.contains("\(consumer)/\(eventId)") }
    }

    @discardableResult
    public func record(consumer: String, eventId: UUID) async throws -> Bool {
        state.withLock { $0.inbox.insert("\(consumer)/\(eventId)").inserted }
    }
}
