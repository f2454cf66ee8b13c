import ServiceCore

/// How a processor guards its jobs (issue 27): how often a running job's heartbeat is recorded, and how many starts a
/// process may die in before the job is a poison message. Read once from the environment by every processor.
public struct JobSafety: Sendable, Equatable {
    /// `MEDIA_HEARTBEAT_INTERVAL`: keep it well inside the Janitor's `MEDIA_STUCK_AFTER`, which judges jobs by it.
    public var heartbeatInterval: Duration
    /// `MEDIA_MAX_CRASHES`: starts of one job a process died in before the next delivery fails it with
    /// `processing_crashed` and dead-letters it unprocessed.
    public var maxCrashes: Int

    public static let help = """
          MEDIA_HEARTBEAT_INTERVAL how often a running job's heartbeat is recorded (default 30s)
          MEDIA_MAX_CRASHES        starts of one job a process may die in before the job fails with processing_crashed
                                   and is dead-lettered unprocessed (default 2)
        """

    public init(heartbeatInterval: Duration = .seconds(30), maxCrashes: Int = 2) {
        self.heartbeatInterval = heartbeatInterval
        self.maxCrashes = maxCrashes
    }

    public init(environment env: Environment) throws {
        heartbeatInterval = try env.duration("MEDIA_HEARTBEAT_INTERVAL", default: .seconds(30))
        maxCrashes = try env.int("MEDIA_MAX_CRASHES", default: 2)
        guard heartbeatInterval > .zero else { throw ConfigurationError("MEDIA_HEARTBEAT_INTERVAL must be above 0") }
        guard maxCrashes >= 1 else { throw ConfigurationError("MEDIA_MAX_CRASHES must be at least 1") }
    }
}

extension ProcessingWorker.Options {
    /// These options with `safety`'s heartbeat and crash limit.
    public func guarded(by safety: JobSafety) -> Self {
        var options = self
        options.heartbeatInterval = safety.heartbeatInterval
        options.maxCrashes = safety.maxCrashes
        return options
    }
}
