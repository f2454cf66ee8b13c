import Foundation
import Logging
import MediaDomain
import Persistence
import ServiceCore
import Storage

/// What staff may do to many media at once (SPEC §7 bulk actions, `mediactl reprocess --status failed`).
public enum BulkAction: String, Sendable, CaseIterable {
    case reprocess
    case delete
    case makePublic = "make_public"
    case makePrivate = "make_private"
}

/// Done and skipped ids, the skipped with why.
public struct BulkResult: Sendable, Equatable {
    public struct Skip: Sendable, Equatable {
        public var id: Int64
        public var reason: String
    }

    public var done: [Int64] = []
    public var skipped: [Skip] = []
}

/// Staff actions on any user's media, one implementation for the staff API and `mediactl`.
public struct MediaBulkActions: Sendable {
    let store: any OperationsStore
    let storage: any BlobStorage
    /// Called after an action wrote outbox rows (wakes a local relay).
    let onOutboxWrite: @Sendable () -> Void
    let logger: Logger
    /// Most ids one request may name.
    public static let maxIds = 1000

    public init(store: any OperationsStore, storage: any BlobStorage, logger: Logger,
                onOutboxWrite: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.storage = storage
        self.logger = logger
        self.onOutboxWrite = onOutboxWrite
    }

    public func perform(_ action: BulkAction, ids: [Int64]) async throws -> BulkResult {
        var result = BulkResult()
        var seen = Set<Int64>()
        for id in ids where seen.insert(id).inserted {
            switch action {
            case .reprocess:
                switch try await store.reprocess(id: id) {
                case .notFound: result.skipped.append(.init(id: id, reason: "not_found"))
                case .notFailed(let media): result.skipped.append(.init(id: id, reason: "not_failed (\(media.status.rawValue))"))
                case .started: result.done.append(id)
                }
            case .delete:
                guard let media = try await store.delete(id: id) else {
                    result.skipped.append(.init(id: id, reason: "not_found"))
                    continue
                }
                result.done.append(id)
                await storage.removeMediaFiles(
                    of: media, unlessUsedBy: store, why: "media \(id) deleted by staff", logger: logger)
            case .makePublic, .makePrivate:
                if try await store.setPublic(id: id, isPublic: action == .makePublic) == nil {
                    result.skipped.append(.init(id: id, reason: "not_found"))
                } else {
                    result.done.append(id)
                }
            }
        }
        if action == .reprocess, !result.done.isEmpty { onOutboxWrite() }
        logger.notice("staff bulk action", metadata: [
            "action": "\(action.rawValue)", "done": "\(result.done.count)", "skipped": "\(result.skipped.count)",
        ])
        return result
    }
}
