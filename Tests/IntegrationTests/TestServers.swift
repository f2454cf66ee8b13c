import Foundation
import Logging
import Persistence
import PostgresNIO
import TestSupport

/// The real PostgreSQL and RabbitMQ that `make test` starts, as its environment names them.
enum TestServers {
    static let env = ProcessInfo.processInfo.environment
    static var databaseURL: String? { env["MEDIA_TEST_DATABASE_URL"] }
    static var amqpURL: String? { env["MEDIA_TEST_AMQP_URL"] }
    static var available: Bool { databaseURL != nil && amqpURL != nil }

    static var logger: Logger {
        var logger = Logger(label: "integration")
        logger.logLevel = .warning
        return logger
    }

    /// Runs `body` with a running Postgres client on the test database, migrated.
    static func withDatabase<T: Sendable>(
        maxConnections: Int = 16, url: String? = nil,
        _ body: @Sendable (PostgresClient, PostgresMediaRepository) async throws -> T
    ) async throws -> T {
        let config = try DatabaseConfiguration(url: try requireConfig(url ?? databaseURL), maxConnections: maxConnections)
        let client = try config.makeClient(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await Migrations.run(on: client, logger: logger)
            return try await body(client, PostgresMediaRepository(client: client, logger: logger))
        }
    }

    /// Runs the server control script (`rabbitmq-stop`, `rabbitmq-start`, `pg-stop`, `pg-start`).
    static func control(_ command: String) async throws {
        guard let script = env["MEDIA_TEST_RABBITMQ_CTL"] else { throw SetupError("MEDIA_TEST_RABBITMQ_CTL not set") }
        let status = await runShell("\(script) \(command)")
        guard status == 0 else { throw SetupError("\(script) \(command) exited \(status)") }
    }
}

struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func requireConfig<T>(_ value: T?) throws -> T {
    guard let value else { throw SetupError("test server URL missing or malformed") }
    return value
}
