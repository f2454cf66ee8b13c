import Foundation

/// One media as the platform records it: who owns it, what it is, where it stands and what was made of it.
public struct Media: Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var username: String
    public var fileType: FileType
    public var status: MediaStatus
    public var fileSize: Int64
    public var mimeType: String
    public var format: MediaFormat
    public var originalFilename: String
    public var storageKey: String
    public var renditions: [String: RenditionInfo]
    public var width: Int?
    public var height: Int?
    public var duration: Double?
    public var bitrate: Int64?
    public var metadata: [String: JSONValue]
    public var isPublic: Bool
    /// Grows with each reprocess; outcome events of an older generation are ignored.
    public var generation: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// SHA-256 of the original as uploaded, lowercase hex (SPEC §13); nil for media stored before it was computed
    /// until the Janitor's `backfill` reads their original.
    public var sha256: String?

    public init(
        id: Int64, userId: Int64, username: String, fileType: FileType, status: MediaStatus, fileSize: Int64,
        mimeType: String, format: MediaFormat, originalFilename: String, storageKey: String,
        renditions: [String: RenditionInfo] = [:], width: Int? = nil, height: Int? = nil, duration: Double? = nil,
        bitrate: Int64? = nil, metadata: [String: JSONValue] = [:], isPublic: Bool, generation: Int = 1,
        createdAt: Date, updatedAt: Date, sha256: String? = nil
    ) {
        self.sha256 = sha256
        self.id = id
        self.userId = userId
        self.username = username
        self.fileType = fileType
        self.status = status
        self.fileSize = fileSize
        self.mimeType = mimeType
        self.format = format
        self.originalFilename = originalFilename
        self.storageKey = storageKey
        self.renditions = renditions
        self.width = width
        self.height = height
        self.duration = duration
        self.bitrate = bitrate
        self.metadata = metadata
        self.isPublic = isPublic
        self.generation = generation
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether `userId` may see this media at all (owner, or anyone signed in when public).
    public func isVisible(to userId: Int64) -> Bool { self.userId == userId || isPublic }

    /// The `media.uploaded` event that asks the processor of this media's type to (re)make its renditions.
    /// A media staff released from quarantine (`metadata.scan_released`) is processed without a malware scan.
    public func uploadedEvent(eventId: UUID = UUID(), at date: Date = Date()) -> MediaUploaded {
        MediaUploaded(
            eventId: eventId, occurredAt: date, mediaId: id, generation: generation, userId: userId,
            fileType: fileType, format: format, mimeType: mimeType, storageKey: storageKey, fileSize: fileSize,
            scanReleased: metadata[Quarantine.releasedKey] == .bool(true) ? true : nil)
    }
}

/// What the Gateway knows of an upload once its bytes are stored.
public struct NewMedia: Sendable, Equatable {
    public var userId: Int64
    public var username: String
    public var format: MediaFormat
    public var fileSize: Int64
    public var originalFilename: String
    public var storageKey: String
    public var isPublic: Bool
    public var idempotencyKey: String?
    /// The upload request's trace (W3C `traceparent`), carried by its `media.uploaded` event.
    public var traceparent: String?
    /// SHA-256 of the stored original, lowercase hex, computed as its bytes streamed in.
    public var sha256: String?

    public init(
        userId: Int64, username: String, format: MediaFormat, fileSize: Int64, originalFilename: String,
        storageKey: String, isPublic: Bool, idempotencyKey: String? = nil, traceparent: String? = nil,
        sha256: String? = nil
    ) {
        self.traceparent = traceparent
        self.sha256 = sha256
        self.userId = userId
        self.username = username
        self.format = format
        self.fileSize = fileSize
        self.originalFilename = originalFilename
        self.storageKey = storageKey
        self.isPublic = isPublic
        self.idempotencyKey = idempotencyKey
    }
}

/// A user's figures for `GET /api/media/stats/`: every type and status present, zeros included.
public struct MediaStats: Sendable, Equatable {
    public var total: Int64
    public var byType: [FileType: Int64]
    public var byStatus: [MediaStatus: Int64]
    public var totalSize: Int64

    public init(total: Int64 = 0, byType: [FileType: Int64] = [:], byStatus: [MediaStatus: Int64] = [:], totalSize: Int64 = 0) {
        self.total = total
        self.byType = Dictionary(uniqueKeysWithValues: FileType.allCases.map { ($0, byType[$0] ?? 0) })
        self.byStatus = Dictionary(uniqueKeysWithValues: MediaStatus.allCases.map { ($0, byStatus[$0] ?? 0) })
        self.totalSize = totalSize
    }
}

/// Filters and page of `GET /api/media/`.
public struct MediaQuery: Sendable, Hashable {
    public var userId: Int64
    public var fileType: FileType?
    public var status: MediaStatus?
    public var offset: Int
    public var limit: Int

    public init(userId: Int64, fileType: FileType? = nil, status: MediaStatus? = nil, offset: Int = 0, limit: Int = 20) {
        self.userId = userId
        self.fileType = fileType
        self.status = status
        self.offset = offset
        self.limit = limit
    }
}
