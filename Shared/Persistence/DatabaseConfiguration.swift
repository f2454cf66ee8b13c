import Foundation
import PostgresNIO

/// Where the database is, parsed once from `MEDIA_DATABASE_URL` (`postgres://user:pass@host:port/db`).
public struct DatabaseConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var maxConnections: Int

    public init(host: String, port: Int, username: String, password: String?, database: String, maxConnections: Int = 16) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.maxConnections = maxConnections
    }

    /// Parses a `postgres://` / `postgresql://` URL; nil when it is not one.
    public init?(url: String, maxConnections: Int = 16) {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql",
              let host = components.host, !host.isEmpty
        else { return nil }
        let db = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.init(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: db.isEmpty ? (components.user ?? "postgres") : db,
            maxConnections: maxConnections)
    }

    public func makeClient(logger: Logger) -> PostgresClient {
        var config = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        // Two kept open (one for a pool of one): postgres-nio traps when its minimum exceeds its maximum.
        config.options.minimumConnections = min(2, max(1, maxConnections))
        config.options.maximumConnections = max(1, maxConnections)
        // Fail fast when the database is down: callers answer 503 rather than hang.
        config.options.connectTimeout = .seconds(3)
        return PostgresClient(configuration: config, backgroundLogger: logger)
    }
}
