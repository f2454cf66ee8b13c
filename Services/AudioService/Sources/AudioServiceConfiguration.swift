import Foundation
import ServiceCore
import ServiceKit

/// AudioService's settings, read once from the environment.
public struct AudioServiceConfiguration: Sendable {
    public var opsHost: String
    public var opsPort: Int
    /// Audio files processed at once in this process (default: one per core).
    public var concurrency: Int
    /// How long jobs in hand may run on after SIGTERM before they go back to the queue (`MEDIA_DRAIN_TIMEOUT`).
    public var drainTimeout: Duration
    /// Heartbeat and crash limit of its jobs (`MEDIA_HEARTBEAT_INTERVAL`, `MEDIA_MAX_CRASHES`).
    public var jobSafety: JobSafety
    /// `MEDIA_CLAMD` and its companions: the malware scan of every original (SPEC §13).
    public var scanning: MalwareScanning
    public var common: CommonConfiguration

    public static let help = """
        mediaflow-audio: makes the audio renditions (MP3 128k, waveform, cover thumbnail) with libav.

        Environment:
          MEDIA_OPS_HOST           address of /healthz, /readyz, /metrics (default 127.0.0.1)
          MEDIA_OPS_PORT           their port (default 9103)
          MEDIA_AUDIO_CONCURRENCY  audio files processed at once (default: number of cores)
          MEDIA_DRAIN_TIMEOUT      on SIGTERM, how long jobs in hand may still run before they go back to
                                   the queue unspent (default 30s)
        \(JobSafety.help)
        \(MalwareScanning.help)
        \(CommonConfiguration.help)
        """

    public init(environment env: Environment = Environment()) throws {
        opsHost = env.string("MEDIA_OPS_HOST", default: "127.0.0.1")
        opsPort = try env.int("MEDIA_OPS_PORT", default: 9103)
        concurrency = max(1, try env.int("MEDIA_AUDIO_CONCURRENCY", default: ProcessInfo.processInfo.activeProcessorCount))
        drainTimeout = try env.duration("MEDIA_DRAIN_TIMEOUT", default: .seconds(30))
        jobSafety = try JobSafety(environment: env)
        scanning = try MalwareScanning(environment: env)
        common = try CommonConfiguration(environment: env)
    }
}
