import Foundation
import GatewayKit
import GatewayUploads
import Hummingbird
import Logging
import MediaDomain
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Tokens

/// The `/api/media/` routes of SPEC §1. They sit behind `AuthenticationMiddleware` (the caller is in the context);
/// another user's private media is answered exactly like missing media (404), never 403.
package struct MediaController: Sendable {
    package let repository: any MediaRepository
    package let storage: any BlobStorage
    package let links: MediaLinks
    package let upload: UploadHandler
    /// Near-duplicates (SPEC §13): the hashes in memory and the store they are checked against.
    package let similarity: (index: SimilarMediaIndex, store: any PerceptualHashStore)?
    /// The read cache (when the Gateway has one): matches it holds need no query.
    package let cache: MediaReadCache?

    package init(repository: any MediaRepository, storage: any BlobStorage, links: MediaLinks, upload: UploadHandler,
                 similarity: (any PerceptualHashStore)? = nil, cache: MediaReadCache? = nil) {
        self.repository = repository
        self.storage = storage
        self.links = links
        self.upload = upload
        self.similarity = similarity.map { (SimilarMediaIndex(store: $0, cache: cache), $0) }
        self.cache = cache
    }

    package func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post("upload", use: uploadMedia)
        group.get("stats", use: stats)
        group.get(use: list)
        group.get(":id", use: detail)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.post(":id/reprocess", use: reprocess)
        group.get(":id/similar", use: similar)
        group.methodNotAllowed("upload", allow: [.post])
        group.methodNotAllowed("stats", allow: [.get, .head])
        group.methodNotAllowed("", allow: [.get, .head])
        group.methodNotAllowed(":id", allow: [.get, .head, .patch, .delete])
        group.methodNotAllowed(":id/reprocess", allow: [.post])
        group.methodNotAllowed(":id/similar", allow: [.get, .head])
    }

    @Sendable package func uploadMedia(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let outcome = try await upload.handle(request, user: try context.requireUser(), trace: context.trace, logger: context.logger)
        var response = json(MediaResource(outcome.media, links: links), status: outcome.created ? .created : .ok)
        response.headers.append(contentsOf: outcome.headers)
        return response
    }

    @Sendable package func detail(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let media = try await visibleMedia(request, context: context, user: user)
        return json(MediaResource(media, links: links))
    }

    @Sendable package func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let params = request.uri.queryParameters
        var type: FileType?
        var status: MediaStatus?
        if let t = params["type"].map(String.init), !t.isEmpty {
            guard let parsed = FileType(rawValue: t) else {
                throw APIError.badRequest("invalid_filter", "Unknown type '\(t)': use image, video or audio.")
            }
            type = parsed
        }
        if let s = params["status"].map(String.init), !s.isEmpty {
            guard let parsed = MediaStatus(rawValue: s) else {
                throw APIError.badRequest(
                    "invalid_filter", "Unknown status '\(s)': use uploading, processing, ready or failed.")
            }
            status = parsed
        }
        let paging = try Pagination(page: params["page"].map(String.init), pageSize: params["page_size"].map(String.init))
        let (count, items) = try await repository.list(MediaQuery(
            userId: user.id, fileType: type, status: status, offset: paging.offset, limit: paging.size))
        try paging.requireExists(count: count)
        var filters: [(String, String)] = []
        if let type { filters.append(("type", type.rawValue)) }
        if let status { filters.append(("status", status.rawValue)) }
        let (next, previous) = paging.neighbours(count: count) { links.apiURL("/api/media/", query: paging.query($0, filters: filters)) }
        return json(Page(
            count: count, next: next, previous: previous, results: items.map { MediaResource($0, links: links) }))
    }

    @Sendable package func stats(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let stats = try await repository.stats(userId: user.id)
        return try json(StatsResource(stats))
    }

    @Sendable package func update(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try RouteParameters.id(context)
        guard let existing = try await repository.find(id: id), existing.userId == user.id else {
            throw APIError.notFound()
        }
        let isPublic = try await MediaPatch(request).isPublic
        guard let media = try await repository.setPublic(id: id, userId: user.id, isPublic: isPublic) else {
            throw APIError.notFound()
        }
        return json(MediaResource(media, links: links))
    }

    @Sendable package func delete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try RouteParameters.id(context)
        guard let media = try await repository.delete(id: id, userId: user.id) else { throw APIError.notFound() }
        // The row is gone, so no URL reaches these files even if removing them fails.
        await storage.removeMediaFiles(
            of: media, unlessUsedBy: repository, why: "media \(id) deleted", logger: context.logger)
        context.logger.info("media deleted", metadata: ["media_id": "\(id)", "user_id": "\(user.id)"])
        return Response(status: .noContent)
    }

    @Sendable package func reprocess(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try RouteParameters.id(context)
        switch try await repository.reprocess(id: id, userId: user.id) {
        case .notFound:
            throw APIError.notFound()
        case .notFailed(let media):
            throw APIError(.conflict, code: "not_failed",
                           detail: "Only failed media can be reprocessed; this one is \(media.status.rawValue).")
        case .started(let media):
            upload.onCreated()
            context.logger.info("media reprocessing", metadata: [
                "media_id": "\(id)", "generation": "\(media.generation)",
            ])
            return json(MediaResource(media, links: links), status: .accepted)
        }
    }

    /// `GET /api/media/{id}/similar/?max_distance=` (SPEC §13): the caller's media whose perceptual hash is within
    /// `max_distance` bits of this one's, nearest first, paged as the list. A media without a hash (audio, not ready
    /// yet) has no near-duplicates: an empty page.
    @Sendable package func similar(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let params = request.uri.queryParameters
        let maxDistance = try Self.maxDistance(params["max_distance"].map(String.init))
        let paging = try Pagination(page: params["page"].map(String.init), pageSize: params["page_size"].map(String.init))
        let media = try await visibleMedia(request, context: context, user: user)
        var matches: [SimilarMediaIndex.Match] = []
        var objects: [Int64: Media] = [:]
        if let similarity, let text = media.metadata["phash"]?.stringValue, text.utf8.count == 16,
           let hash = UInt64(text, radix: 16)
        {
            matches = try await similarity.index.matches(
                userId: user.id, hash: hash, maxDistance: maxDistance, excluding: media.id)
            // Deleted media are not announced to the index: every match is checked, so that the count is exact. A few
            // matches (the usual case) are fetched whole; many are checked by id and only the page fetched below.
            let existing: Set<Int64>
            if matches.count <= 100 {
                objects = try await mediaObjects(matches.map(\.mediaId), userId: user.id, store: similarity.store)
                existing = Set(objects.keys)
            } else {
                existing = try await similarity.store.existingIds(matches.map(\.mediaId), userId: user.id)
            }
            if existing.count < matches.count {
                similarity.index.forget(matches.map(\.mediaId).filter { !existing.contains($0) }, userId: user.id)
                matches.removeAll { !existing.contains($0.mediaId) }
            }
        }
        try paging.requireExists(count: matches.count)
        let page = Array(matches.dropFirst(paging.offset).prefix(paging.size))
        if let similarity, page.contains(where: { objects[$0.mediaId] == nil }) {
            objects = try await mediaObjects(page.map(\.mediaId), userId: user.id, store: similarity.store)
        }
        var filters: [(String, String)] = []
        if params["max_distance"] != nil { filters.append(("max_distance", String(maxDistance))) }
        let (next, previous) = paging.neighbours(count: matches.count) {
            links.apiURL("/api/media/\(media.id)/similar/", query: paging.query($0, filters: filters))
        }
        return json(Page(count: matches.count, next: next, previous: previous,
                         results: page.compactMap { objects[$0.mediaId] }.map { MediaResource($0, links: links) }))
    }

    /// The user's media among `ids` that still exist, by id: from the read cache where it holds them (an entry goes
    /// when its row changes or goes), the rest in one query, which then fills the cache.
    private func mediaObjects(_ ids: [Int64], userId: Int64, store: any PerceptualHashStore) async throws -> [Int64: Media] {
        var objects: [Int64: Media] = [:]
        if let cache {
            for id in ids {
                if let cached = cache.media(id: id), cached.userId == userId { objects[id] = cached }
            }
        }
        let unknown = ids.filter { objects[$0] == nil }
        guard !unknown.isEmpty else { return objects }
        let ticket = cache?.ticket()
        for found in try await store.media(ids: unknown, userId: userId) {
            objects[found.id] = found
            if let cache, let ticket { cache.store(found, ticket: ticket) }
        }
        return objects
    }

    /// `max_distance`: 0 to 32 (default 10); 400 `invalid_parameter` otherwise.
    static func maxDistance(_ text: String?) throws -> Int {
        guard let text, !text.isEmpty else { return 10 }
        guard let value = Int(text), (0...32).contains(value) else {
            throw APIError.badRequest("invalid_parameter", "max_distance must be a whole number from 0 to 32.")
        }
        return value
    }

    private func visibleMedia(_ request: Request, context: GatewayRequestContext, user: AuthenticatedUser) async throws -> Media {
        let id = try RouteParameters.id(context)
        guard let media = try await repository.find(id: id), media.isVisible(to: user.id) else {
            throw APIError.notFound()
        }
        return media
    }

}

package struct StatsResource: Encodable {
    package var total: Int64
    package var by_type: [String: Int64]
    package var by_status: [String: Int64]
    package var total_size: Int64

    package init(_ stats: MediaStats) {
        total = stats.total
        by_type = Dictionary(uniqueKeysWithValues: stats.byType.map { ($0.key.rawValue, $0.value) })
        by_status = Dictionary(uniqueKeysWithValues: stats.byStatus.map { ($0.key.rawValue, $0.value) })
        total_size = stats.totalSize
    }
}

/// The body of `PATCH /api/media/{id}/`: a JSON object whose `is_public` is a boolean (other members are ignored,
/// as DRF's serializer ignores unknown fields).
package struct MediaPatch {
    package let isPublic: Bool

    package init(_ request: Request) async throws {
        let body = try await JSONRequestBody(request, example: #"{"is_public": false}"#)
        guard let flag = try body.bool("is_public", required: true) else {
            throw APIError.badRequest("invalid_request", "The field 'is_public' is required.")
        }
        isPublic = flag
    }
}
