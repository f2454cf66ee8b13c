import Foundation
import ServiceCore
import ServiceKit

/// ImageService's settings, read once from the environment.
public struct ImageServiceConfiguration: Sendable {
    public var opsHost: String
    public var opsPort: Int
    /// Images processed at once in this process (default: one more than the cores). A job is off the CPU while
    /// it reads the original, stores five renditions and waits for the inbox write and the broker's confirm;
    /// the extra job keeps the cores busy meanwhile (burst of 24 12 MP JPEGs on 2 cores, alternating runs:
    /// median 8.3 images/s with 2, 8.8 with 3).
    public var concurrency: Int
    /// How long jobs in hand may run on after SIGTERM before they go back to the queue (`MEDIA_DRAIN_TIMEOUT`).
    public var drainTimeout: Duration
    /// Whether images get `urls.avif` (`MEDIA_IMAGE_AVIF`, default true).
    public var avif: Bool
    /// Heartbeat and crash limit of its jobs (`MEDIA_HEARTBEAT_INTERVAL`, `MEDIA_MAX_CRASHES`).
    public var jobSafety: JobSafety
    /// `MEDIA_CLAMD` and its companions: the malware scan of every original (SPEC §13).
    public var scanning: MalwareScanning
    public var common: CommonConfiguration

    public static let help = """
        mediaflow-image: makes the image renditions (libvips).

        Environment:
          MEDIA_OPS_HOST           address of /healthz, /readyz, /metrics (default 127.0.0.1)
          MEDIA_OPS_PORT           their port (default 9101)
          MEDIA_IMAGE_CONCURRENCY  images processed at once (default: number of cores + 1)
          MEDIA_IMAGE_AVIF         make the AVIF rendition, urls.avif (default true; false leaves it null)
          MEDIA_DRAIN_TIMEOUT      on SIGTERM, how long jobs in hand may still run before they go back to
                                   the queue unspent (default 30s)
        \(JobSafety.help)
        \(MalwareScanning.help)
        \(CommonConfiguration.help)
        """

    public init(environment env: Environment = Environment()) throws {
        opsHost = env.string("MEDIA_OPS_HOST", default: "127.0.0.1")
        opsPort = try env.int("MEDIA_OPS_PORT", default: 9101)
        concurrency = max(1, try env.int("MEDIA_IMAGE_CONCURRENCY", default: ProcessInfo.processInfo.activeProcessorCount + 1))
        drainTimeout = try env.duration("MEDIA_DRAIN_TIMEOUT", default: .seconds(30))
        avif = try env.bool("MEDIA_IMAGE_AVIF", default: true)
        jobSafety = try JobSafety(environment: env)
        scanning = try MalwareScanning(environment: env)
        common = try CommonConfiguration(environment: env)
    }
}
