import Foundation
import MediaDomain

/// What the staff see of every user's media (SPEC §7 `GET /api/admin/media/` and the admin list page): §1.3's
/// filters plus an owner, a search of file name and owner name, and a creation window. Newest first.
public struct StaffMediaQuery: Sendable, Hashable {
    public var fileType: FileType?
    public var status: MediaStatus?
    /// The owner's user id.
    public var userId: Int64?
    /// A case-insensitive substring of the file name or of the owner's name.
    public var search: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    public var offset: Int
    public var limit: Int

    public init(fileType: FileType? = nil, status: MediaStatus? = nil, userId: Int64? = nil, search: String? = nil,
                createdAfter: Date? = nil, createdBefore: Date? = nil, offset: Int = 0, limit: Int = 20) {
        self.fileType = fileType
        self.status = status
        self.userId = userId
        self.search = search
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.offset = offset
        self.limit = limit
    }

    /// Whether the count can come from the per-user counter rows (type, status and owner only).
    var isCountable: Bool { search == nil && createdAfter == nil && createdBefore == nil }

    /// Whether a media passes the filters (the in-memory store; PostgreSQL says the same in SQL).
    public func matches(_ media: Media) -> Bool {
        if let fileType, media.fileType != fileType { return false }
        if let status, media.status != status { return false }
        if let userId, media.userId != userId { return false }
        if let createdAfter, media.createdAt < createdAfter { return false }
        if let createdBefore, media.createdAt >= createdBefore { return false }
        if let search {
            let needle = search.lowercased()
            if !media.originalFilename.lowercased().contains(needle) && !media.username.lowercased().contains(needle) {
                return false
            }
        }
        return true
    }
}

/// The figures of the admin stats page (SPEC §7): every user's media by type and status, uploads per day, and how
/// long processing took per type.
public struct StaffStats: Sendable, Equatable {
    public struct Day: Sendable, Equatable {
        /// `YYYY-MM-DD` (UTC).
        public var day: String
        public var uploads: Int64

        public init(day: String, uploads: Int64) {
            self.day = day
            self.uploads = uploads
        }
    }

    public struct ProcessingTime: Sendable, Equatable {
        public var p50Ms: Double
        public var p95Ms: Double
        /// How many ready media the percentiles are of.
        public var samples: Int64

        public init(p50Ms: Double, p95Ms: Double, samples: Int64) {
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.samples = samples
        }
    }

    public var byType: [FileType: Int64]
    public var byStatus: [MediaStatus: Int64]
    /// Count per (type, status).
    public var byTypeAndStatus: [FileType: [MediaStatus: Int64]]
    public var total: Int64
    public var totalSize: Int64
    /// The last `days` days, oldest first, days without uploads included (as 0).
    public var uploadsPerDay: [Day]
    /// Of media created in the window and ready, by type.
    public var processing: [FileType: ProcessingTime]

    public init(byTypeAndStatus: [FileType: [MediaStatus: Int64]], totalSize: Int64, uploadsPerDay: [Day],
                processing: [FileType: ProcessingTime]) {
        self.byTypeAndStatus = byTypeAndStatus
        var byType: [FileType: Int64] = [:]
        var byStatus: [MediaStatus: Int64] = [:]
        for (type, statuses) in byTypeAndStatus {
            for (status, n) in statuses {
                byType[type, default: 0] += n
                byStatus[status, default: 0] += n
            }
        }
        self.byType = byType
        self.byStatus = byStatus
        total = byType.values.reduce(0, +)
        self.totalSize = totalSize
        self.uploadsPerDay = uploadsPerDay
        self.processing = processing
    }

    /// `days` UTC dates ending today, oldest first, each with its count from `counts` (0 when absent).
    public static func days(_ days: Int, counts: [String: Int64], now: Date = Date()) -> [Day] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let today = calendar.startOfDay(for: now)
        return (0..<days).reversed().compactMap { back in
            guard let date = calendar.date(byAdding: .day, value: -back, to: today) else { return nil }
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            let key = String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
            return Day(day: key, uploads: counts[key] ?? 0)
        }
    }
}
