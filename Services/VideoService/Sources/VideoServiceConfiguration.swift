import ServiceCore
import ServiceKit

/// VideoService's settings, read once from the environment.
public struct VideoServiceConfiguration: Sendable {
    public var opsHost: String
    public var opsPort: Int
    /// Jobs run at once by this process; each has its own libav thread and a prefetch of one, so a replica
    /// never holds more messages than it is working on and other processes take the rest.
    public var workers: Int
    /// Longest a job may run before it fails with `processing_timeout`.
    public var jobTimeout: Duration
    /// How long jobs in hand may run on after SIGTERM before they go back to the queue (`MEDIA_DRAIN_TIMEOUT`).
    public var drainTimeout: Duration
    /// Heartbeat and crash limit of its jobs (`MEDIA_HEARTBEAT_INTERVAL`, `MEDIA_MAX_CRASHES`).
    public var jobSafety: JobSafety
    /// `MEDIA_CLAMD` and its companions: the malware scan of every original (SPEC §13).
    public var scanning: MalwareScanning
    public var common: CommonConfiguration

    public static let help = """
        mediaflow-video: makes the video renditions (libav in process: H.264/AAC MP4, poster, thumbnail).

        Environment:
          MEDIA_OPS_HOST           address of /healthz, /readyz, /metrics (default 127.0.0.1)
          MEDIA_OPS_PORT           their port (default 9102)
          MEDIA_VIDEO_WORKERS      videos processed at once by this process (default 1; prefetch = workers)
          MEDIA_VIDEO_JOB_TIMEOUT  seconds one video may take before it fails (default 1800); keep the
                                   broker's consumer_timeout above it
          MEDIA_DRAIN_TIMEOUT      on SIGTERM, how long jobs in hand may still run before they go back to
                                   the queue unspent (default 10m)
        \(JobSafety.help)
        \(MalwareScanning.help)
        \(CommonConfiguration.help)
        """

    public init(environment env: Environment = Environment()) throws {
        opsHost = env.string("MEDIA_OPS_HOST", default: "127.0.0.1")
        opsPort = try env.int("MEDIA_OPS_PORT", default: 9102)
        workers = try env.int("MEDIA_VIDEO_WORKERS", default: 1)
        guard workers >= 1 else { throw ConfigurationError("MEDIA_VIDEO_WORKERS must be at least 1") }
        let timeout = try env.int("MEDIA_VIDEO_JOB_TIMEOUT", default: 1800)
        guard timeout >= 1 else { throw ConfigurationError("MEDIA_VIDEO_JOB_TIMEOUT must be at least 1 second") }
        jobTimeout = .seconds(timeout)
        drainTimeout = try env.duration("MEDIA_DRAIN_TIMEOUT", default: .seconds(600))
        jobSafety = try JobSafety(environment: env)
        scanning = try MalwareScanning(environment: env)
        common = try CommonConfiguration(environment: env)
    }
}
