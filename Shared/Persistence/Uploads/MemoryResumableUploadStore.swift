import Foundation
import MediaDomain
import Synchronization

/// `ResumableUploadStore` in memory, for unit tests.
public final class MemoryResumableUploadStore: ResumableUploadStore {
    private struct Entry {
        var upload: ResumableUpload
        var holder: UUID?
        var claimedUntil: ContinuousClock.Instant?
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    public init() {}

    public func createUpload(_ upload: ResumableUpload) async throws {
        entries.withLock { $0[upload.id] = Entry(upload: upload) }
    }

    public func upload(id: UUID) async throws -> ResumableUpload? { entries.withLock { $0[id]?.upload } }

    public func claimUpload(id: UUID, holder: UUID, lease: Duration) async throws -> ResumableUpload? {
        entries.withLock { entries in
            guard var entry = entries[id] else { return nil }
            if let until = entry.claimedUntil, until > .now, entry.holder != holder { return nil }
            entry.holder = holder
            entry.claimedUntil = .now + lease
            entries[id] = entry
            return entry.upload
        }
    }

    public func renewClaim(id: UUID, holder: UUID, lease: Duration) async throws -> Bool {
        entries.withLock { entries in
            guard var entry = entries[id], entry.holder == holder else { return false }
            entry.claimedUntil = .now + lease
            entries[id] = entry
            return true
        }
    }

    public func releaseClaim(id: UUID, holder: UUID) async throws {
        entries.withLock { entries in
            guard var entry = entries[id], entry.holder == holder else { return }
            entry.holder = nil
            entry.claimedUntil = nil
            entries[id] = entry
        }
    }

    public func advanceUpload(id: UUID, holder: UUID, from: Int64, to: Int64, format: MediaFormat?) async throws -> Bool {
        entries.withLock { entries in
            guard var entry = entries[id], entry.holder == holder, entry.upload.offset == from else { return false }
            entry.upload.offset = to
            if let format { entry.upload.format = format }
            entries[id] = entry
            return true
        }
    }

    public func completeUpload(id: UUID, mediaId: Int64, holder: UUID) async throws -> Bool {
        entries.withLock { entries in
            guard var entry = entries[id], entry.holder == holder else { return false }
            entry.upload.mediaId = mediaId
            entry.upload.offset = entry.upload.length
            entry.holder = nil
            entry.claimedUntil = nil
            entries[id] = entry
            return true
        }
    }

    public func deleteUpload(id: UUID) async throws {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    public func expiredUploads(before date: Date, limit: Int) async throws -> [UUID] {
        entries.withLock { entries in
            Array(entries.values.filter { $0.upload.expiresAt < date }
                .sorted { $0.upload.expiresAt < $1.upload.expiresAt }.prefix(limit).map(\.upload.id))
        }
    }
}
