import Foundation
import Logging
import Messaging
import MediaDomain
import Persistence
import Storage

/// The process environment, read once; typed configuration structs are built from it.
public struct Environment: Sendable {
    public var values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) { self.values = values }

    public func string(_ key: String) -> String? {
        guard let v = values[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    public func string(_ key: String, default fallback: String) -> String { string(key) ?? fallback }

    public func int(_ key: String, default fallback: Int) throws -> Int {
        guard let s = string(key) else { return fallback }
        guard let v = Int(s) else { throw ConfigurationError("\(key) must be an integer, got \(s)") }
        return v
    }

    public func int64(_ key: String, default fallback: Int64) throws -> Int64 {
        guard let s = string(key) else { return fallback }
        guard let v = Int64(s) else { throw ConfigurationError("\(key) must be an integer, got \(s)") }
        return v
    }

    /// A duration such as `90s`, `30m`, `6h`, `7d` (a bare number is seconds).
    public func duration(_ key: String, default fallback: Duration) throws -> Duration {
        guard let s = string(key) else { return fallback }
        guard let value = DurationText.parse(s) else {
            throw ConfigurationError("\(key) must be a duration such as 90s, 30m, 6h or 7d, got \(s)")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let s = string(key)?.lowercased() else { return fallback }
        switch s {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError("\(key) must be true or false, got \(s)")
        }
    }
}

/// A configuration value that cannot work; services print it and exit rather than start half-configured.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Settings every service shares: where the database, the broker and the files are.
public struct CommonConfiguration: Sendable {
    /// `MEDIA_DATABASE_URL`, parsed (a service sets `maxConnections` for itself).
    public var database: DatabaseConfiguration
    public var amqpURL: String
    /// `MEDIA_AMQP_QUEUE_TYPE`: classic (one node) or quorum (replicated over a cluster).
    public var queueType: QueueType
    public var storage: StorageConfiguration
    public var limits: MediaLimits
    /// `MEDIA_QUOTA_BYTES`: the storage quota of a user staff gave no limit of their own (SPEC §10).
    public var quotaBytes: Int64
    /// False with `MEDIA_QUOTA_BYTES=off`: uploads are not checked against any quota (the figures are still kept).
    public var quotaEnforced: Bool
    public var logLevel: Logger.Level
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`: spans are exported only when one is set
    /// (ServiceKit's `OTLPSettings` reads it with the other `OTEL_*` settings).
    public var otlpEndpoint: String?

    public static let help = """
          MEDIA_DATABASE_URL       postgres://user:pass@host:port/db[?sslmode=disable|prefer|require|verify-ca|verify-full&sslrootcert=FILE]
                                   (default postgres://mediaflow:mediaflow@127.0.0.1:54329/mediaflow)
          MEDIA_AMQP_URL           amqp://user:pass@host:port/vhost (default amqp://mediaflow:mediaflow@127.0.0.1:56729/);
                                   the nodes of a cluster comma-separated (later ones may be host:port), failed over in turn
          MEDIA_AMQP_QUEUE_TYPE    classic (default) or quorum: every queue replicated over the cluster
          MEDIA_STORAGE            local:<dir> (default local:.local/dev/storage), or an S3-compatible bucket:
                                   s3://<bucket>?endpoint=<url>&region=<region>&path_style=<true|false>
          MEDIA_S3_ACCESS_KEY, MEDIA_S3_SECRET_KEY, MEDIA_S3_SESSION_TOKEN   the bucket's credentials (else
                                   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN for temporary ones)
          MEDIA_MAX_IMAGE_BYTES    upload limit for images (default 10485760)
          MEDIA_MAX_VIDEO_BYTES    upload limit for videos (default 104857600)
          MEDIA_MAX_AUDIO_BYTES    upload limit for audio (default 20971520)
          MEDIA_MAX_IMAGE_PIXELS   images over this many pixels fail with image_too_large (default 100000000)
          MEDIA_QUOTA_BYTES        each user's storage quota unless staff set one (default 10737418240, 10 GiB); off: no
                                   quota is enforced (the figures are still kept)
          MEDIA_LOG_LEVEL          trace|debug|info|notice|warning|error (default info)
          OTEL_EXPORTER_OTLP_ENDPOINT  export spans over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318); unset: none.
                                   The OpenTelemetry variables apply: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                                   OTEL_EXPORTER_OTLP_PROTOCOL (http/json, the only one offered),
                                   OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_SERVICE_NAME,
                                   OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE,
                                   OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
        """

    public init(environment env: Environment) throws {
        do {
            database = try DatabaseConfiguration(
                url: env.string("MEDIA_DATABASE_URL", default: "postgres://mediaflow:mediaflow@127.0.0.1:54329/mediaflow"))
        } catch {
            throw ConfigurationError(error.description)
        }
        amqpURL = env.string("MEDIA_AMQP_URL", default: "amqp://mediaflow:mediaflow@127.0.0.1:56729/")
        let type = env.string("MEDIA_AMQP_QUEUE_TYPE", default: "classic")
        guard let queueType = QueueType(rawValue: type) else {
            throw ConfigurationError("MEDIA_AMQP_QUEUE_TYPE must be classic or quorum, not '\(type)'")
        }
        self.queueType = queueType
        storage = try StorageConfiguration(env.string("MEDIA_STORAGE", default: "local:.local/dev/storage"), environment: env)
        let defaults = MediaLimits()
        limits = MediaLimits(
            maxImageBytes: try env.int64("MEDIA_MAX_IMAGE_BYTES", default: defaults.maxImageBytes),
            maxVideoBytes: try env.int64("MEDIA_MAX_VIDEO_BYTES", default: defaults.maxVideoBytes),
            maxAudioBytes: try env.int64("MEDIA_MAX_AUDIO_BYTES", default: defaults.maxAudioBytes),
            maxImagePixels: try env.int64("MEDIA_MAX_IMAGE_PIXELS", default: defaults.maxImagePixels))
        quotaEnforced = env.string("MEDIA_QUOTA_BYTES")?.lowercased() != "off"
        quotaBytes = quotaEnforced ? try env.int64("MEDIA_QUOTA_BYTES", default: 10 << 30) : 10 << 30
        guard quotaBytes >= 0 else { throw ConfigurationError("MEDIA_QUOTA_BYTES must be 0 or more bytes, or off") }
        let level = env.string("MEDIA_LOG_LEVEL", default: "info")
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ConfigurationError("MEDIA_LOG_LEVEL must be one of trace, debug, info, notice, warning, error")
        }
        logLevel = parsed
        otlpEndpoint = env.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? env.string("OTEL_EXPORTER_OTLP_ENDPOINT")
    }
}

/// `MEDIA_STORAGE`: `local:<dir>` or `s3://<bucket>?endpoint=<url>&region=<r>&path_style=<bool>` (SPEC §9), with the
/// S3 credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN` for temporary ones) or
/// `MEDIA_S3_ACCESS_KEY` / `MEDIA_S3_SECRET_KEY` (and `MEDIA_S3_SESSION_TOKEN`).
public enum StorageConfiguration: Sendable, Equatable {
    case local(directory: String)
    case s3(S3Location)

    public init(_ value: String, environment env: Environment = Environment([:])) throws {
        if value.hasPrefix("local:") {
            let dir = String(value.dropFirst("local:".count))
            guard !dir.isEmpty else { throw ConfigurationError("MEDIA_STORAGE local: needs a directory") }
            self = .local(directory: URL(fileURLWithPath: dir).standardizedFileURL.path)
        } else if value.hasPrefix("s3://") {
            let accessKey = env.string("MEDIA_S3_ACCESS_KEY") ?? env.string("AWS_ACCESS_KEY_ID") ?? ""
            let secretKey = env.string("MEDIA_S3_SECRET_KEY") ?? env.string("AWS_SECRET_ACCESS_KEY") ?? ""
            // The token goes with the key it came with: MEDIA_S3_* keys never take AWS_SESSION_TOKEN.
            let sessionToken = env.string("MEDIA_S3_ACCESS_KEY") != nil
                ? env.string("MEDIA_S3_SESSION_TOKEN") : env.string("AWS_SESSION_TOKEN")
            do {
                self = .s3(try S3Location(url: value, accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken))
            } catch {
                throw ConfigurationError(error.message)
            }
        } else {
            throw ConfigurationError("MEDIA_STORAGE must be local:<dir> or s3://<bucket>?endpoint=…, got \(value)")
        }
    }

    public func makeStorage() throws -> any BlobStorage {
        switch self {
        case .local(let directory): try LocalDiskStorage(root: directory)
        case .s3(let location): S3Storage(location: location, contentType: { MediaFormat.contentType(ofKey: $0) })
        }
    }
}
