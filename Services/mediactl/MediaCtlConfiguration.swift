import ArgumentParser
import Foundation
import Logging
import MediaDomain
import Messaging
import Operations
import Persistence
import PostgresNIO
import ServiceCore

/// What mediactl reads from the environment: the services' own settings (where the database, the broker and the
/// files are; the token secret).
struct MediaCtlConfiguration {
    var jwtSecret: String
    var common: CommonConfiguration

    static let developmentSecret = "mediaflow-development-secret-change-me-0123456789"
    /// How long mediactl waits for PostgreSQL or RabbitMQ to answer before it gives up.
    static let reachTimeout = Duration.seconds(5)

    static let help = """
        Environment (the services' own):
          MEDIA_JWT_SECRET         HS256 secret the tokens are signed with (default: the development secret)
        \(CommonConfiguration.help)
        """

    init(environment: Environment = Environment()) throws {
        jwtSecret = environment.string("MEDIA_JWT_SECRET") ?? Self.developmentSecret
        common = try CommonConfiguration(environment: environment)
    }

    var logger: Logger {
        var logger = Logger(label: "mediactl")
        // PostgresNIO warns when a query races the pool's start-up; it waits correctly, so only errors matter here.
        logger.logLevel = .error
        return logger
    }

    /// Runs `body` with a migrated database, once PostgreSQL answered within `reachTimeout`.
    func withDatabase<T: Sendable>(
        _ body: @escaping @Sendable (PostgresClient, PostgresMediaRepository) async throws -> T
    ) async throws -> T {
        var database = common.database
        database.maxConnections = 2
        let logger = self.logger
        let client = try database.makeClient(logger: logger)
        let target = "\(database.host):\(database.port)"
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await reach("PostgreSQL at \(target)") { _ = try await client.guardedRows("SELECT 1", logger: logger) }
            try await Migrations.run(on: client, logger: logger)
            return try await body(client, PostgresMediaRepository(client: client, logger: logger))
        }
    }

    /// Runs `body` with the broker, once it answered within `reachTimeout`.
    func withBroker<T: Sendable>(_ body: @escaping @Sendable (RabbitMQBroker) async throws -> T) async throws -> T {
        let broker = try RabbitMQBroker(url: common.amqpURL, queueType: common.queueType, logger: logger)
        defer { Task { await broker.shutdown() } }
        let url = URLComponents(string: common.amqpURL)
        let endpoint = "\(url?.host ?? "?"):\(url?.port ?? 5672)"
        try await reach("RabbitMQ at \(endpoint)") { try await broker.declare(MediaTopology.all()) }
        return try await body(broker)
    }

    /// Gives up, with a plain sentence and exit status 1, when `probe` does not succeed within `reachTimeout`. It
    /// exits at once rather than unwind: a client still trying to connect could otherwise hold the process for its
    /// own timeouts and backoff.
    private func reach(_ what: String, _ probe: @escaping @Sendable () async throws -> Void) async throws {
        let timeout = Self.reachTimeout
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await probe()
                    return nil
                } catch {
                    return "cannot reach \(what): \(DatabaseFailure.describe(error))"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "cannot reach \(what): no answer within \(DurationText.format(timeout))"
            }
            if let failure = await group.next() ?? nil {
                FileHandle.standardError.write(Data("mediactl: \(failure)\n".utf8))
                exit(1)
            }
            group.cancelAll()
        }
    }
}

/// Runs a subcommand's body and turns any failure into one line on stderr and exit status 1.
func run(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("mediactl: \(DatabaseFailure.describe(error))\n".utf8))
        throw ExitCode(1)
    }
}
