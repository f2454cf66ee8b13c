import Foundation

/// Names of the exchange, events and routing keys of SPEC §3.
public enum MediaEvents {
    public static let exchange = "media.events"

    public static let uploaded = "media.uploaded"
    public static let ready = "media.ready"
    public static let failed = "media.failed"
    public static let progress = "media.progress"

    public static func uploadedRoutingKey(_ type: FileType) -> String { "\(uploaded).\(type.rawValue)" }

    /// Work queue of each processor, and the Gateway's status queue.
    public static func processorQueue(_ type: FileType) -> String { "\(type.rawValue)-service" }
    public static let statusQueue = "gateway.status"
}

/// `media.uploaded`: a stored original waiting for its renditions.
public struct MediaUploaded: Sendable, Codable, Equatable {
    public var eventId: UUID
    public var occurredAt: Date
    public var mediaId: Int64
    public var generation: Int
    public var userId: Int64
    public var fileType: FileType
    public var format: MediaFormat
    public var mimeType: String
    public var storageKey: String
    public var fileSize: Int64
    /// True when staff released this original from quarantine (SPEC §13): it is processed without a malware scan.
    /// Absent otherwise.
    public var scanReleased: Bool?

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", occurredAt = "occurred_at", mediaId = "media_id", generation
        case userId = "user_id", fileType = "file_type", format, mimeType = "mime_type"
        case storageKey = "storage_key", fileSize = "file_size", scanReleased = "scan_released"
    }

    public init(
        eventId: UUID = UUID(), occurredAt: Date = Date(), mediaId: Int64, generation: Int, userId: Int64,
        fileType: FileType, format: MediaFormat, mimeType: String, storageKey: String, fileSize: Int64,
        scanReleased: Bool? = nil
    ) {
        self.scanReleased = scanReleased
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.mediaId = mediaId
        self.generation = generation
        self.userId = userId
        self.fileType = fileType
        self.format = format
        self.mimeType = mimeType
        self.storageKey = storageKey
        self.fileSize = fileSize
    }
}

/// `media.ready`: every rendition stored, with what was learned about the original.
public struct MediaReady: Sendable, Codable, Equatable {
    public var eventId: UUID
    public var occurredAt: Date
    public var mediaId: Int64
    public var generation: Int
    public var renditions: [String: RenditionInfo]
    public var width: Int?
    public var height: Int?
    public var duration: Double?
    public var bitrate: Int64?
    public var metadata: [String: JSONValue]
    public var processingMs: Int

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", occurredAt = "occurred_at", mediaId = "media_id", generation
        case renditions, width, height, duration, bitrate, metadata, processingMs = "processing_ms"
    }

    public init(
        eventId: UUID = UUID(), occurredAt: Date = Date(), mediaId: Int64, generation: Int,
        renditions: [String: RenditionInfo], width: Int?, height: Int?, duration: Double?, bitrate: Int64?,
        metadata: [String: JSONValue], processingMs: Int
    ) {
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.mediaId = mediaId
        self.generation = generation
        self.renditions = renditions
        self.width = width
        self.height = height
        self.duration = duration
        self.bitrate = bitrate
        self.metadata = metadata
        self.processingMs = processingMs
    }
}

/// Why processing ended in failure: a stable code clients can branch on and a sentence for people.
public struct MediaError: Sendable, Codable, Equatable, Error {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// `media.failed`: processing gave up, for a reason the input caused or after exhausting retries.
public struct MediaFailed: Sendable, Codable, Equatable {
    public var eventId: UUID
    public var occurredAt: Date
    public var mediaId: Int64
    public var generation: Int
    public var error: MediaError
    public var attempts: Int

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", occurredAt = "occurred_at", mediaId = "media_id", generation, error, attempts
    }

    public init(
        eventId: UUID = UUID(), occurredAt: Date = Date(), mediaId: Int64, generation: Int, error: MediaError,
        attempts: Int
    ) {
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.mediaId = mediaId
        self.generation = generation
        self.error = error
        self.attempts = attempts
    }
}

/// `media.progress`: a long job's percentage (video), at most about once a second.
public struct MediaProgress: Sendable, Codable, Equatable {
    public var eventId: UUID
    public var occurredAt: Date
    public var mediaId: Int64
    public var generation: Int
    public var percent: Double

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", occurredAt = "occurred_at", mediaId = "media_id", generation, percent
    }

    public init(eventId: UUID = UUID(), occurredAt: Date = Date(), mediaId: Int64, generation: Int, percent: Double) {
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.mediaId = mediaId
        self.generation = generation
        self.percent = percent
    }
}

/// One JSON coding for every event, so producers and consumers agree on dates.
public enum EventCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601.string(from: date))
        }
        e.outputFormatting = [.sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = ISO8601.date(from: s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 date: \(s)")
            }
            return date
        }
        return d
    }
}

/// ISO 8601 in UTC with a "Z", with milliseconds (SPEC §1.2).
public enum ISO8601 {
    /// Formatted by hand from the civil date: every API response formats two of these, and Foundation's
    /// format styles cost microseconds each on this hot path.
    public static func string(from date: Date) -> String {
        // Whole seconds, then the fraction truncated to milliseconds (as Foundation's ISO 8601 style does).
        let t = date.timeIntervalSince1970
        let whole = t.rounded(.down)
        let millis = min(999, Int((t - whole) * 1000))
        let seconds = Int64(whole)
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // Days since 1970-01-01 to year/month/day (Howard Hinnant's civil_from_days).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(Int64(millis), 3))Z"
    }

    public static func date(from string: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(string) { return d }
        return try? Date.ISO8601FormatStyle().parse(string)
    }
}
