import Foundation
import GatewayFairUse
import GatewayKit
import GatewayWebhooks
import Logging
import MediaDomain
import NIOCore
import Operations
import Persistence
import ServiceCore
import ServiceKit

/// Everything the Gateway reads from its environment, once, at start-up (SPEC §5).
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Base of every absolute URL the API returns (`http://host:port` unless configured).
    public var publicBaseURL: String
    public var jwtSecret: String
    /// True when `MEDIA_JWT_SECRET` was not set and the development secret is in use.
    public var usesDevelopmentSecret: Bool
    /// Origins allowed to call the API from a browser; `["*"]` allows any.
    public var corsOrigins: [String]
    /// How long a signed URL of private media stays valid.
    public var signedURLLifetime: Duration
    /// Most PostgreSQL connections the Gateway opens. Few per core on purpose: every busy connection is a PostgreSQL
    /// backend competing with the Gateway for the same cores. Under `wrk -c32` on 2 cores, 16 connections gave
    /// a p99 of 34–48 ms and 4–8 gave 13–17 ms at a higher throughput; queries are short, so a request rarely
    /// waits for a free connection.
    public var databaseConnections: Int
    /// Answer `/media/<key>` with a redirect to the object store (a presigned URL, or `cdnBaseURL` for public
    /// media) instead of streaming the file through the Gateway; for stores that have such URLs (S3).
    public var filesRedirect: Bool
    /// Where public files are served from when redirecting (`<cdnBaseURL>/<key>`).
    public var cdnBaseURL: String?
    /// `MEDIA_UPLOAD_EXPIRY`: how long an unfinished resumable upload may wait for its next bytes (SPEC §8).
    public var uploadExpiry: Duration
    /// How long a PATCH holds its upload between renewals (not configurable from outside: tests shorten it).
    public var uploadLease: Duration = .seconds(15)
    /// `MEDIA_SSE_KEEPALIVE`: how often an idle live-status stream gets a comment line (SPEC §8: 15 s).
    public var liveStatusKeepAlive: Duration
    /// `MEDIA_WEBHOOK_*`: retry schedule, receiver timeout, private receivers (SPEC §8).
    public var webhooks: WebhookSettings
    /// `MEDIA_COOKIE_SECURE`: the admin session cookie is `Secure` on every answer (it is already whenever the request
    /// came over https, directly or per `X-Forwarded-Proto`, or the public base URL is https).
    public var cookieSecure: Bool
    /// `MEDIA_HEADER_TIMEOUT`, `MEDIA_BODY_IDLE_TIMEOUT`, `MEDIA_IDLE_TIMEOUT`, `MEDIA_MAX_CONNECTIONS` (SPEC §10).
    public var connections: ConnectionLimits
    /// `MEDIA_QUOTA_BYTES` (from `common`), `MEDIA_UPLOAD_RATE`, `MEDIA_UPLOAD_BURST`, `MEDIA_MAX_STREAMS_PER_USER` (SPEC §10).
    public var fairUse: FairUseSettings
    /// `MEDIA_TRANSFORM_KEY`: the keys of transform URLs (SPEC §12), comma-separated; URLs are signed with the first
    /// and accepted with any (rotation). Empty: transforms are off.
    public var transformKeys: [String]
    /// `MEDIA_TRANSFORM_CONCURRENCY`: transform renders at once in this Gateway (default: the cores).
    public var transformConcurrency: Int
    public var common: CommonConfiguration

    public static let developmentSecret = "mediaflow-development-secret-change-me-0123456789"

    public static let help = """
        mediaflow-gateway: the REST API of Mediaflow.

        Environment:
          MEDIA_HTTP_HOST          address to listen on (default 127.0.0.1)
          MEDIA_HTTP_PORT          port to listen on (default 8080)
          MEDIA_PUBLIC_BASE_URL    base of absolute URLs (default http://<host>:<port>)
          MEDIA_JWT_SECRET         HS256 secret of bearer tokens (default: a development secret, with a warning)
          MEDIA_CORS_ORIGINS       comma-separated origins allowed from browsers (default *)
          MEDIA_SIGNED_URL_TTL     seconds a private media URL stays valid (default 3600)
          MEDIA_TRANSFORM_KEY      key(s) of /img/ transform URLs, comma-separated: signed with the first, any accepted
                                   (default: none, transforms off)
          MEDIA_TRANSFORM_CONCURRENCY  transform renders at once (default: the cores); others wait up to 10 s
          MEDIA_DATABASE_CONNECTIONS  most PostgreSQL connections (default twice the cores, at least 4), and one more the
                                   live-status listener holds
          MEDIA_UPLOAD_EXPIRY      an unfinished resumable (tus) upload expires this long after its creation (default 24h)
          MEDIA_FILES_REDIRECT     true: /media/<key> answers 302 to the object store (S3) instead of streaming (default false)
          MEDIA_CDN_BASE_URL       with the redirect, public media's files go to <this>/<key> (default: a presigned URL)
          MEDIA_SSE_KEEPALIVE      an idle live-status stream (/api/media/events/) gets a comment this often (default 15s)
          MEDIA_WEBHOOK_ALLOW_PRIVATE  true: webhooks may post to private, loopback and link-local addresses (default false;
                                   development and tests only)
          MEDIA_WEBHOOK_RETRY_SCHEDULE  waits before each retry of a failed webhook delivery (default 5s,1m,10m,1h,6h)
          MEDIA_WEBHOOK_TIMEOUT    how long a webhook receiver has to answer (default 10s)
          MEDIA_HEADER_TIMEOUT     a request's headers must be complete this long after its first byte (default 10s)
          MEDIA_BODY_IDLE_TIMEOUT  a request body that sends no byte for this long is cut (default 30s)
          MEDIA_IDLE_TIMEOUT       an idle keep-alive connection is closed after this long (default 60s)
          MEDIA_MAX_CONNECTIONS    connections held at once; beyond, 503 overloaded (default 10000)
          MEDIA_UPLOAD_RATE        uploads per user (plain and tus creations), across Gateways: N/s, N/m, N/h or off
                                   (default 300/m); staff are not limited
          MEDIA_UPLOAD_BURST       uploads a user may send at once within that rate (default 100)
          MEDIA_MAX_STREAMS_PER_USER  open live-status streams per user, across Gateways (default 10)
          MEDIA_COOKIE_SECURE      true: the admin session cookie is always Secure (default: under https, also behind a
                                   proxy that sends X-Forwarded-Proto: https)
        \(CommonConfiguration.help)
        """

    public init(environment env: Environment = Environment()) throws {
        host = env.string("MEDIA_HTTP_HOST", default: "127.0.0.1")
        port = try env.int("MEDIA_HTTP_PORT", default: 8080)
        let base = env.string("MEDIA_PUBLIC_BASE_URL", default: "http://\(host):\(port)")
        publicBaseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
        if let secret = env.string("MEDIA_JWT_SECRET") {
            jwtSecret = secret
            usesDevelopmentSecret = false
        } else {
            jwtSecret = Self.developmentSecret
            usesDevelopmentSecret = true
        }
        corsOrigins = env.string("MEDIA_CORS_ORIGINS", default: "*")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        signedURLLifetime = .seconds(try env.int("MEDIA_SIGNED_URL_TTL", default: 3600))
        transformKeys = env.string("MEDIA_TRANSFORM_KEY", default: "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        transformConcurrency = try env.int("MEDIA_TRANSFORM_CONCURRENCY", default: ProcessInfo.processInfo.activeProcessorCount)
        guard transformConcurrency >= 1 else { throw ConfigurationError("MEDIA_TRANSFORM_CONCURRENCY must be at least 1") }
        databaseConnections = try env.int("MEDIA_DATABASE_CONNECTIONS", default: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))
        guard databaseConnections >= 1 else { throw ConfigurationError("MEDIA_DATABASE_CONNECTIONS must be at least 1") }
        filesRedirect = try env.bool("MEDIA_FILES_REDIRECT", default: false)
        cdnBaseURL = env.string("MEDIA_CDN_BASE_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        uploadExpiry = try env.duration("MEDIA_UPLOAD_EXPIRY", default: .seconds(24 * 3600))
        liveStatusKeepAlive = try env.duration("MEDIA_SSE_KEEPALIVE", default: .seconds(15))
        var webhooks = WebhookSettings()
        webhooks.allowPrivate = try env.bool("MEDIA_WEBHOOK_ALLOW_PRIVATE", default: false)
        webhooks.timeout = try env.duration("MEDIA_WEBHOOK_TIMEOUT", default: webhooks.timeout)
        if let schedule = env.string("MEDIA_WEBHOOK_RETRY_SCHEDULE") {
            let waits = schedule.split(separator: ",").map { DurationText.parse($0.trimmingCharacters(in: .whitespaces)) }
            guard !waits.isEmpty, waits.allSatisfy({ $0 != nil }) else {
                throw ConfigurationError("MEDIA_WEBHOOK_RETRY_SCHEDULE must be durations such as 5s,1m,10m,1h,6h, got \(schedule)")
            }
            webhooks.retrySchedule = waits.compactMap { $0 }
        }
        self.webhooks = webhooks
        cookieSecure = try env.bool("MEDIA_COOKIE_SECURE", default: false) || publicBaseURL.lowercased().hasPrefix("https:")
        var connections = ConnectionLimits()
        func timeAmount(_ key: String, _ fallback: TimeAmount) throws -> TimeAmount {
            let duration = try env.duration(key, default: .nanoseconds(fallback.nanoseconds))
            guard duration > .zero else { throw ConfigurationError("\(key) must be above 0") }
            return .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        connections.headerTimeout = try timeAmount("MEDIA_HEADER_TIMEOUT", connections.headerTimeout)
        connections.bodyIdleTimeout = try timeAmount("MEDIA_BODY_IDLE_TIMEOUT", connections.bodyIdleTimeout)
        connections.idleTimeout = try timeAmount("MEDIA_IDLE_TIMEOUT", connections.idleTimeout)
        connections.maxConnections = try env.int("MEDIA_MAX_CONNECTIONS", default: connections.maxConnections)
        guard connections.maxConnections >= 1 else { throw ConfigurationError("MEDIA_MAX_CONNECTIONS must be at least 1") }
        self.connections = connections
        common = try CommonConfiguration(environment: env)
        var fairUse = FairUseSettings()
        fairUse.defaultQuotaBytes = common.quotaBytes
        fairUse.enforceQuota = common.quotaEnforced
        do {
            fairUse.uploadRate = try UploadRate.parse(env.string("MEDIA_UPLOAD_RATE", default: "300/m"))
        } catch {
            throw ConfigurationError("\(error)")
        }
        fairUse.uploadBurst = try env.int("MEDIA_UPLOAD_BURST", default: fairUse.uploadBurst)
        guard fairUse.uploadBurst >= 1 else { throw ConfigurationError("MEDIA_UPLOAD_BURST must be at least 1") }
        fairUse.maxStreamsPerUser = try env.int("MEDIA_MAX_STREAMS_PER_USER", default: fairUse.maxStreamsPerUser)
        guard fairUse.maxStreamsPerUser >= 1 else { throw ConfigurationError("MEDIA_MAX_STREAMS_PER_USER must be at least 1") }
        self.fairUse = fairUse
    }
}
