import MediaDomain

/// `MediaRepository` with `MediaReadCache` in front of its reads: `find(id:)`, `list` and `stats` answer from the
/// cache when they can; every write goes to `base` and then drops what it changed, so this process reads its own
/// writes at once. Several of these (with and without a deadline below them) may share one cache.
public struct CachingMediaRepository: MediaRepository {
    let base: any MediaRepository
    let cache: MediaReadCache

    public init(base: any MediaRepository, cache: MediaReadCache) {
        self.base = base
        self.cache = cache
    }

    public func find(id: Int64) async throws -> Media? {
        if let hit = cache.media(id: id) { return hit }
        let ticket = cache.ticket()
        let media = try await base.find(id: id)
        if let media { cache.store(media, ticket: ticket) }
        return media
    }

    /// A miss is loaded once however many ask at the same moment (`SingleFlight`): askers join a load under way if
    /// nothing of the user changed since it began, so none gets an answer older than its own question.
    public func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media]) {
        if let hit = cache.page(query) { return hit }
        let (cache, base) = (self.cache, self.base)
        let ticket = cache.ticket()
        let page = try await cache.pages.value(
            for: query, sequence: ticket.sequence,
            joinable: { sequence in cache.isFresh(.init(sequence: sequence, enabled: ticket.enabled), userId: query.userId) },
            load: {
                let page = try await base.list(query)
                cache.store(page, for: query, ticket: ticket)
                return ListPage(count: page.count, items: page.items)
            })
        return (page.count, page.items)
    }

    public func stats(userId: Int64) async throws -> MediaStats {
        if let hit = cache.stats(userId: userId) { return hit }
        let (cache, base) = (self.cache, self.base)
        let ticket = cache.ticket()
        return try await cache.stats.value(
            for: userId, sequence: ticket.sequence,
            joinable: { sequence in cache.isFresh(.init(sequence: sequence, enabled: ticket.enabled), userId: userId) },
            load: {
                let stats = try await base.stats(userId: userId)
                cache.store(stats, userId: userId, ticket: ticket)
                return stats
            })
    }

    // Reads that stay uncached: rare, or needing the database's own answer.
    public func find(userId: Int64, idempotencyKey: String) async throws -> Media? {
        try await base.find(userId: userId, idempotencyKey: idempotencyKey)
    }

    public func find(storagePrefix prefix: String) async throws -> Media? { try await base.find(storagePrefix: prefix) }
    public func isFolderInUse(_ folderName: String) async throws -> Bool { try await base.isFolderInUse(folderName) }

    // Writes: after each, what it changed is dropped (the database's notification will say the same a moment later).
    public func create(_ new: NewMedia) async throws -> CreateMediaResult {
        let result = try await base.create(new)
        if case .created(let media) = result { cache.invalidate(mediaId: media.id, userId: media.userId) }
        return result
    }

    public func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media? {
        let media = try await base.setPublic(id: id, userId: userId, isPublic: isPublic)
        cache.invalidate(mediaId: id, userId: userId)
        return media
    }

    public func delete(id: Int64, userId: Int64) async throws -> Media? {
        let media = try await base.delete(id: id, userId: userId)
        cache.invalidate(mediaId: id, userId: userId)
        return media
    }

    public func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult {
        let result = try await base.reprocess(id: id, userId: userId)
        cache.invalidate(mediaId: id, userId: userId)
        return result
    }

    public func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult {
        let result = try await base.apply(outcome, consumer: consumer)
        if result == .applied {
            // The owner's stats and list pages changed too; the event does not name the owner, the row does.
            var owner = cache.media(id: outcome.mediaId)?.userId
            if owner == nil { owner = try await base.find(id: outcome.mediaId)?.userId }
            cache.invalidate(mediaId: outcome.mediaId, userId: owner)
        }
        return result
    }
}
