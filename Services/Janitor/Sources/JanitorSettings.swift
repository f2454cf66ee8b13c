import MediaDomain
import Operations
import ServiceCore
import ServiceKit

/// What the Janitor keeps, for how long, and how often each task runs; read once from the environment.
public struct JanitorSettings: Sendable, Equatable {
    /// `failed_cleanup` removes media failed for longer than this.
    public var failedRetention: Duration = .seconds(7 * 86_400)
    /// `orphan_sweep` removes unowned stored objects older than this.
    public var orphanGrace: Duration = .seconds(3600)
    /// `orphan_sweep` removes transform variants nobody fetched for this long (`MEDIA_VARIANT_RETENTION`, SPEC §12).
    public var variantRetention: Duration = .seconds(30 * 86_400)
    /// `stuck_processing` acts on media processing with no change for longer than this, by type.
    public var stuckAfter: [FileType: Duration] = [.image: .seconds(900), .audio: .seconds(900), .video: .seconds(7200)]
    /// How often a stuck job is republished before the media fails with `processing_timeout`.
    public var stuckRepublishLimit = 2
    /// `outbox_watch` warns about unsent outbox rows older than this...
    public var outboxStaleAfter: Duration = .seconds(300)
    /// ...and prunes sent outbox rows and handled-event records older than this.
    public var deliveredRetention: Duration = .seconds(14 * 86_400)
    /// How often each task runs.
    public var every: [JanitorTaskName: Duration] = [
        .failedCleanup: .seconds(3600), .orphanSweep: .seconds(3600), .stuckProcessing: .seconds(300),
        .outboxWatch: .seconds(60), .quotaResync: .seconds(86_400), .backfill: .seconds(86_400),
    ]

    public init() {}

    /// The shortest grace the orphan sweep accepts (see `init(environment:)`).
    public static let minimumOrphanGrace = Duration.seconds(60)

    public static let help = """
          MEDIA_JANITOR_FAILED_CLEANUP_EVERY    how often failed_cleanup runs (default 1h)
          MEDIA_JANITOR_ORPHAN_SWEEP_EVERY      how often orphan_sweep runs (default 1h)
          MEDIA_JANITOR_STUCK_PROCESSING_EVERY  how often stuck_processing runs (default 5m)
          MEDIA_JANITOR_OUTBOX_WATCH_EVERY      how often outbox_watch runs (default 1m)
          MEDIA_JANITOR_QUOTA_RESYNC_EVERY      how often quota_resync runs (default 1d)
          MEDIA_JANITOR_BACKFILL_EVERY          how often backfill runs (default 1d)
          MEDIA_FAILED_RETENTION   failed media older than this are deleted with their files (default 7d)
          MEDIA_ORPHAN_GRACE       stored objects no row owns are deleted once older than this (default 1h)
          MEDIA_VARIANT_RETENTION  transform variants nobody fetched for this long are deleted (default 30d)
          MEDIA_STUCK_AFTER        processing with no event for this long is stuck: one duration for every type,
                                   or per type as image=15m,audio=15m,video=2h (default)
          MEDIA_STUCK_REPUBLISH    times a stuck job is republished before the media fails (default 2)
          MEDIA_FAILPOINT          tests only: exit at a named point (replay.after-publish)
        """

    public init(environment env: Environment) throws {
        for task in JanitorTaskName.allCases {
            let key = task.everyVariable
            every[task] = try env.duration(key, default: every[task] ?? .seconds(3600))
            guard (every[task] ?? .zero) > .zero else { throw ConfigurationError("\(key) must be more than 0") }
        }
        failedRetention = try env.duration("MEDIA_FAILED_RETENTION", default: failedRetention)
        orphanGrace = try env.duration("MEDIA_ORPHAN_GRACE", default: orphanGrace)
        variantRetention = try env.duration("MEDIA_VARIANT_RETENTION", default: variantRetention)
        guard variantRetention > .zero else { throw ConfigurationError("MEDIA_VARIANT_RETENTION must be more than 0") }
        // An upload's original is stored a moment before its row is written: a sweep with no grace could take it.
        guard orphanGrace >= Self.minimumOrphanGrace else {
            throw ConfigurationError("MEDIA_ORPHAN_GRACE must be at least \(DurationText.format(Self.minimumOrphanGrace))")
        }
        stuckRepublishLimit = try env.int("MEDIA_STUCK_REPUBLISH", default: stuckRepublishLimit)
        guard stuckRepublishLimit >= 0 else { throw ConfigurationError("MEDIA_STUCK_REPUBLISH must be 0 or more") }
        if let text = env.string("MEDIA_STUCK_AFTER") {
            stuckAfter = try Self.parseStuckAfter(text, defaults: stuckAfter)
        }
    }

    /// `15m` (every type) or `image=15m,video=2h` (the types named; the others keep their default).
    static func parseStuckAfter(_ text: String, defaults: [FileType: Duration]) throws -> [FileType: Duration] {
        if let all = DurationText.parse(text) {
            return Dictionary(uniqueKeysWithValues: FileType.allCases.map { ($0, all) })
        }
        var result = defaults
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let type = FileType(rawValue: pair[0]), let duration = DurationText.parse(pair[1]) else {
                throw ConfigurationError("MEDIA_STUCK_AFTER must be a duration or image=15m,audio=15m,video=2h; got \(text)")
            }
            result[type] = duration
        }
        return result
    }
}

extension JanitorTaskName {
    /// The variable that sets how often the task runs.
    var everyVariable: String {
        switch self {
        case .failedCleanup: "MEDIA_JANITOR_FAILED_CLEANUP_EVERY"
        case .orphanSweep: "MEDIA_JANITOR_ORPHAN_SWEEP_EVERY"
        case .stuckProcessing: "MEDIA_JANITOR_STUCK_PROCESSING_EVERY"
        case .outboxWatch: "MEDIA_JANITOR_OUTBOX_WATCH_EVERY"
        case .quotaResync: "MEDIA_JANITOR_QUOTA_RESYNC_EVERY"
        case .backfill: "MEDIA_JANITOR_BACKFILL_EVERY"
        }
    }
}
