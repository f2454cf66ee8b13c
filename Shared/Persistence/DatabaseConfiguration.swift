import Foundation
import PostgresNIO

/// Where the database is, parsed once from `MEDIA_DATABASE_URL`
/// (`postgres://user:pass@host:port/db?sslmode=verify-full&sslrootcert=/path/ca.pem`).
public struct DatabaseConfiguration: Sendable, Equatable {
    /// libpq's `sslmode` values, with libpq's meaning.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, else plain (`allow` is read as this too).
        case prefer
        /// TLS or no connection; the certificate is not checked (libpq's `require` without a root certificate).
        case require
        /// TLS with the server's certificate checked against the trusted roots, but not its name.
        case verifyCA = "verify-ca"
        /// TLS with the certificate checked and its name matched against the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var maxConnections: Int
    public var tls: TLSMode
    /// PEM file of the roots `verify-ca` / `verify-full` trust (`sslrootcert`); the system's roots when nil.
    public var rootCertificatePath: String?

    public init(
        host: String, port: Int, username: String, password: String?, database: String, maxConnections: Int = 16,
        tls: TLSMode = .disable, rootCertificatePath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.maxConnections = maxConnections
        self.tls = tls
        self.rootCertificatePath = rootCertificatePath
    }

    /// Parses a `postgres://` / `postgresql://` URL. Its query may carry `sslmode` (disable, allow, prefer,
    /// require, verify-ca, verify-full; default disable, as the project's own servers speak plain TCP on loopback)
    /// and `sslrootcert`.
    public init(url: String, maxConnections: Int = 16) throws(DatabaseURLError) {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else { throw DatabaseURLError("MEDIA_DATABASE_URL must be a postgres:// URL with a host") }
        let db = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var tls = TLSMode.disable
        var rootCertificatePath: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                guard let mode = TLSMode(rawValue: value == "allow" ? "prefer" : value) else {
                    throw DatabaseURLError(
                        "MEDIA_DATABASE_URL: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full; got '\(value)'")
                }
                tls = mode
            case "sslrootcert":
                rootCertificatePath = item.value
            default:
                throw DatabaseURLError("MEDIA_DATABASE_URL: unknown parameter '\(item.name)' (sslmode and sslrootcert are read)")
            }
        }
        self.init(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: db.isEmpty ? (components.user ?? "postgres") : db,
            maxConnections: maxConnections, tls: tls, rootCertificatePath: rootCertificatePath)
    }

    /// The TLS settings for postgres-nio. Throws when the root certificate file cannot be read.
    func tlsConfiguration() throws -> PostgresClient.Configuration.TLS {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable: return .disable
        case .prefer, .require: tlsConfiguration.certificateVerification = .none
        case .verifyCA: tlsConfiguration.certificateVerification = .noHostnameVerification
        case .verifyFull: tlsConfiguration.certificateVerification = .fullVerification
        }
        if let rootCertificatePath, tls == .verifyCA || tls == .verifyFull {
            tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificatePath))
        }
        return tls == .prefer ? .prefer(tlsConfiguration) : .require(tlsConfiguration)
    }

    public func makeClient(logger: Logger) throws -> PostgresClient {
        var config = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: try tlsConfiguration())
        // Two kept open (one for a pool of one): postgres-nio traps when its minimum exceeds its maximum.
        config.options.minimumConnections = min(2, max(1, maxConnections))
        config.options.maximumConnections = max(1, maxConnections)
        // Fail fast when the database is down: callers answer 503 rather than hang.
        config.options.connectTimeout = .seconds(3)
        return PostgresClient(configuration: config, backgroundLogger: logger)
    }
}

/// `MEDIA_DATABASE_URL` (or a root certificate it names) cannot be used; services print it and exit.
public struct DatabaseURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
