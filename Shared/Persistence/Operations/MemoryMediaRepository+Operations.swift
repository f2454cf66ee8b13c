import Foundation
import MediaDomain

/// `OperationsStore` in memory, for unit tests of the staff API and the Janitor's decisions. Ages are measured
/// against `updatedAt`, as in PostgreSQL.
extension MemoryMediaRepository: OperationsStore {
    private func isOlder(_ media: Media, than age: Duration, now: Date = Date()) -> Bool {
        now.timeIntervalSince(media.updatedAt) > Double(age.milliseconds) / 1000
    }

    /// Moves a media's `updatedAt` back (tests make media "old" this way).
    public func age(id: Int64, by seconds: TimeInterval) {
        state.withLock { s in s.rows[id]?.updatedAt.addTimeInterval(-seconds) }
    }

    public func failedMedia(olderThan age: Duration, limit: Int) async throws -> [Media] {
        state.withLock { s in
            Array(s.rows.values.filter { $0.status == .failed && isOlder($0, than: age) }
                .sorted { $0.updatedAt < $1.updatedAt }.prefix(limit))
        }
    }

    /// Throws `JanitorFenceLost` unless `fence` is the current epoch (checked under the lock a write takes).
    private static func check(_ fence: JanitorFence?, _ s: State) throws {
        if let fence, fence.epoch != s.janitorEpoch { throw JanitorFenceLost(epoch: fence.epoch) }
    }

    public func takeJanitorLease(holder: String) async throws -> JanitorFence {
        state.withLock { s in
            s.janitorEpoch += 1
            return JanitorFence(epoch: s.janitorEpoch)
        }
    }

    public func checkFence(_ fence: JanitorFence?) async throws {
        try state.withLock { s in try Self.check(fence, s) }
    }

    public func deleteFailed(id: Int64, olderThan age: Duration, fence: JanitorFence?) async throws -> Media? {
        try state.withLock { s in
            try Self.check(fence, s)
            guard let media = s.rows[id], media.status == .failed, isOlder(media, than: age) else { return nil }
            s.rows[id] = nil
            return media
        }
    }

    public func owners(ofFolders folders: [String]) async throws -> [String: FolderOwner] {
        let wanted = Set(folders)
        return state.withLock { s in
            var owners: [String: FolderOwner] = [:]
            for media in s.rows.values {
                guard let folder = StorageKeys.mediaFolderName(of: media.storageKey), wanted.contains(folder) else { continue }
                if let other = owners[folder], other.generation <= media.generation { continue }
                owners[folder] = FolderOwner(
                    mediaId: media.id, originalKey: media.storageKey, generation: media.generation, status: media.status)
            }
            return owners
        }
    }

    /// Stuck under `rule` in memory, where no job ever runs (no `JobLedger` here): a media is stuck when its type's
    /// queues are idle and its row is older than the limit (the lost-message half of the rule).
    private func isStuck(_ media: Media, _ rule: StuckRule) -> Bool {
        media.status == .processing && rule.idleQueues.contains(media.fileType) && isOlder(media, than: rule.limit(for: media.fileType))
    }

    public func stuckMedia(_ rule: StuckRule, limit: Int) async throws -> [StuckMedia] {
        state.withLock { s in
            Array(s.rows.values.filter { isStuck($0, rule) }.sorted { $0.updatedAt < $1.updatedAt }.prefix(limit).map {
                StuckMedia(media: $0, republishes: s.republishes[$0.id] ?? 0)
            })
        }
    }

    public func republishStuck(id: Int64, generation: Int, rule: StuckRule, limit: Int, fence: JanitorFence?) async throws -> Bool {
        try state.withLock { s in
            try Self.check(fence, s)
            guard var media = s.rows[id], media.generation == generation, (s.republishes[id] ?? 0) < limit, isStuck(media, rule)
            else { return false }
            media.updatedAt = Date()
            s.rows[id] = media
            s.republishes[id, default: 0] += 1
            try Self.enqueue(media, into: &s)
            return true
        }
    }

    public func failStuck(id: Int64, generation: Int, rule: StuckRule, error: MediaError, fence: JanitorFence?) async throws -> Bool {
        try state.withLock { s in
            try Self.check(fence, s)
            guard var media = s.rows[id], media.generation == generation, isStuck(media, rule) else { return false }
            let failed = MediaFailed(mediaId: id, generation: generation, error: error,
                                     attempts: Int(media.metadata["attempts"]?.intValue ?? 1))
            media.status = .failed
            media.metadata = MetadataFolding.failed(media.metadata, failed)
            media.updatedAt = Date()
            s.rows[id] = media
            var entry = try OutboxEntry.failed(failed)
            entry.id = Int64(s.outbox.count + 1)
            s.outbox.append(OutboxRow(entry: entry))
            return true
        }
    }

    public func mediaMissingPlaceholders(after id: Int64, limit: Int) async throws -> [Media] {
        state.withLock { s in
            Array(s.rows.values.filter { $0.id > id && $0.status == .ready && Self.lacksDerivedFields($0) }
                .sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    public func addPlaceholders(id: Int64, generation: Int, fields: [String: JSONValue], fence: JanitorFence?) async throws -> Bool {
        try state.withLock { s in
            try Self.check(fence, s)
            guard var media = s.rows[id], media.generation == generation, media.status == .ready,
                  Self.lacksDerivedFields(media)
            else { return false }
            media.metadata.merge(fields) { old, _ in old }
            s.rows[id] = media
            return true
        }
    }

    public func mediaWithoutContentHash(after id: Int64, limit: Int) async throws -> [Media] {
        state.withLock { s in
            Array(s.rows.values.filter { $0.id > id && $0.sha256 == nil }.sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    public func addContentHash(id: Int64, sha256: String, fence: JanitorFence?) async throws -> Bool {
        try state.withLock { s in
            try Self.check(fence, s)
            guard var media = s.rows[id], media.sha256 == nil else { return false }
            media.sha256 = sha256
            s.rows[id] = media
            return true
        }
    }

    /// No placeholder, or (an image or a video) no perceptual hash: what `backfill` gives.
    static func lacksDerivedFields(_ media: Media) -> Bool {
        media.metadata["thumbhash"] == nil || (media.fileType != .audio && media.metadata["phash"] == nil)
    }

    public func outboxBacklog(olderThan age: Duration) async throws -> OutboxBacklog {
        OutboxBacklog(staleUnsent: 0, oldestUnsentAge: nil)  // entries carry no creation time here
    }

    public func pruneDelivered(olderThan age: Duration, fence: JanitorFence?) async throws -> (outbox: Int, inbox: Int) {
        try await checkFence(fence)
        return (0, 0)
    }

    public func pruneLiveStatus(eventsOlderThan eventAge: Duration, deliveriesOlderThan deliveryAge: Duration, fence: JanitorFence?)
        async throws -> (events: Int, deliveries: Int)
    {
        try await checkFence(fence)
        return (0, 0)
    }

    public func startRun(task: String, dryRun: Bool, trigger: String, instance: String) async throws -> Int64 {
        state.withLock { s in
            let id = Int64(s.runs.count + 1)
            s.runs.append(JanitorRun(id: id, state: "running", task: task, trigger: trigger, instance: instance,
                                     dryRun: dryRun, startedAt: Date(), finishedAt: nil, counts: [:], error: nil))
            return id
        }
    }

    public func requestRun(task: String, dryRun: Bool, trigger: String) async throws -> Int64 {
        state.withLock { s in
            let id = Int64(s.runs.count + 1)
            s.runs.append(JanitorRun(id: id, state: "requested", task: task, trigger: trigger, instance: "",
                                     dryRun: dryRun, startedAt: Date(), finishedAt: nil, counts: [:], error: nil))
            return id
        }
    }

    public func claimRequestedRun(id: Int64, instance: String) async throws -> Bool {
        state.withLock { s in
            guard let index = s.runs.firstIndex(where: { $0.id == id && $0.state == "requested" }) else { return false }
            s.runs[index].state = "running"
            s.runs[index].instance = instance
            s.runs[index].startedAt = Date()
            return true
        }
    }

    public func janitorRun(id: Int64) async throws -> JanitorRun? {
        state.withLock { s in s.runs.first { $0.id == id } }
    }

    public func finishRun(id: Int64, counts: [String: Int], error: String?) async throws {
        state.withLock { s in
            guard let index = s.runs.firstIndex(where: { $0.id == id }) else { return }
            s.runs[index].state = "finished"
            s.runs[index].finishedAt = Date()
            s.runs[index].counts = counts.mapValues(Int64.init)
            s.runs[index].error = error
        }
    }

    public func janitorRuns(task: String?, limit: Int) async throws -> [JanitorRun] {
        state.withLock { s in Array(s.runs.filter { task == nil || $0.task == task }.reversed().prefix(limit)) }
    }

    public func returnToProcessing(id: Int64, generation: Int) async throws -> Media? {
        state.withLock { s in
            guard var media = s.rows[id], media.generation == generation, media.status == .failed else { return nil }
            let failed = media
            media.status = .processing
            media.metadata.removeValue(forKey: "error")
            media.metadata.removeValue(forKey: "progress")
            media.updatedAt = Date()
            s.rows[id] = media
            s.republishes[id] = nil
            return failed
        }
    }

    public func restoreFailed(_ media: Media) async throws -> Bool {
        state.withLock { s in
            guard var current = s.rows[media.id], current.generation == media.generation, current.status == .processing
            else { return false }
            current.status = .failed
            current.metadata = media.metadata
            current.updatedAt = Date()
            s.rows[media.id] = current
            return true
        }
    }

    public func failedMediaIds(code: String?, type: FileType?, since: Date?, limit: Int) async throws -> [Int64] {
        state.withLock { s in
            Array(s.rows.values.filter { media in
                media.status == .failed && (type == nil || media.fileType == type)
                    && since.map { media.updatedAt >= $0 } ?? true
                    && (code == nil || media.metadata["error"]?["code"]?.stringValue == code)
            }.sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }.prefix(limit).map(\.id))
        }
    }

    public func reprocess(id: Int64) async throws -> ReprocessResult {
        guard let owner = state.withLock({ $0.rows[id]?.userId }) else { return .notFound }
        return try await reprocess(id: id, userId: owner)
    }

    public func restart(id: Int64, kind: RestartKind) async throws -> ReprocessResult {
        guard let owner = state.withLock({ $0.rows[id]?.userId }) else { return .notFound }
        return try restart(id: id, userId: owner, kind: kind)
    }

    public func delete(id: Int64) async throws -> Media? {
        guard let owner = state.withLock({ $0.rows[id]?.userId }) else { return nil }
        return try await delete(id: id, userId: owner)
    }

    public func setPublic(id: Int64, isPublic: Bool) async throws -> Media? {
        guard let owner = state.withLock({ $0.rows[id]?.userId }) else { return nil }
        return try await setPublic(id: id, userId: owner, isPublic: isPublic)
    }

    // MARK: admin console

    public func staffMedia(_ query: StaffMediaQuery) async throws -> (count: Int, items: [Media]) {
        state.withLock { s in
            let all = s.rows.values.filter(query.matches)
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            return (all.count, Array(all.dropFirst(query.offset).prefix(query.limit)))
        }
    }

    public func staffStats(days: Int) async throws -> StaffStats {
        let rows = state.withLock { Array($0.rows.values) }
        var byTypeAndStatus: [FileType: [MediaStatus: Int64]] = [:]
        var perDay: [String: Int64] = [:]
        var times: [FileType: [Double]] = [:]
        let since = Date().addingTimeInterval(-Double(days) * 86_400)
        for media in rows {
            byTypeAndStatus[media.fileType, default: [:]][media.status, default: 0] += 1
            perDay[String(ISO8601.string(from: media.createdAt).prefix(10)), default: 0] += 1
            if media.status == .ready, media.createdAt >= since, let ms = media.metadata["processing_ms"]?.intValue {
                times[media.fileType, default: []].append(Double(ms))
            }
        }
        var processing: [FileType: StaffStats.ProcessingTime] = [:]
        for (type, values) in times {
            let sorted = values.sorted()
            // percentile_cont: linear between the two nearest ranks, as PostgreSQL computes it.
            func percentile(_ p: Double) -> Double {
                let rank = p * Double(sorted.count - 1)
                let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
                return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
            }
            processing[type] = .init(p50Ms: percentile(0.5), p95Ms: percentile(0.95), samples: Int64(sorted.count))
        }
        return StaffStats(byTypeAndStatus: byTypeAndStatus, totalSize: rows.reduce(0) { $0 + $1.fileSize },
                          uploadsPerDay: StaffStats.days(days, counts: perDay), processing: processing)
    }
}
