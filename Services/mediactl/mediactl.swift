import Foundation
import Gateway
import Logging
import MediaDomain
import Persistence
import PostgresNIO
import ServiceKit

/// The operator's command line: mint a development token, show a user's figures, reprocess a media.
@main
struct MediaCtl {
    static let usage = """
        usage: mediactl <command> [options]

          token --user-id N [--username NAME] [--staff] [--ttl SECONDS]
                prints an access token signed with MEDIA_JWT_SECRET (or the development secret)
          stats --user-id N
                prints the user's stats as JSON (reads MEDIA_DATABASE_URL)
          reprocess MEDIA_ID
                starts a new generation of a failed media; a running Gateway's outbox relay publishes it

        Environment (read like the services read it):
          MEDIA_JWT_SECRET         HS256 secret the tokens are signed with (default: the development secret)
        \(CommonConfiguration.help)
        """

    static func main() async {
        var args = Array(CommandLine.arguments.dropFirst())
        guard let command = args.first else { fail(usage) }
        if command == "--help" || command == "-h" || command == "help" {
            print(usage)
            return
        }
        args.removeFirst()
        do {
            let configuration = try GatewayConfiguration()
            switch command {
            case "token":
                let id = try int64(option("--user-id", in: args) ?? "1")
                let user = AuthenticatedUser(
                    id: id, username: option("--username", in: args) ?? "user\(id)", isStaff: args.contains("--staff"))
                let ttl = TimeInterval(try int64(option("--ttl", in: args) ?? "86400"))
                print(JWTAuthenticator(secret: configuration.jwtSecret).mint(user: user, lifetime: ttl))
            case "stats":
                guard let id = option("--user-id", in: args) else { fail(usage) }
                let userId = try int64(id)
                let stats = try await withRepository(configuration) { try await $0.stats(userId: userId) }
                let byType = FileType.allCases.map { "\"\($0.rawValue)\": \(stats.byType[$0] ?? 0)" }.joined(separator: ", ")
                let byStatus = MediaStatus.allCases.map { "\"\($0.rawValue)\": \(stats.byStatus[$0] ?? 0)" }.joined(separator: ", ")
                print(#"{"total": \#(stats.total), "by_type": {\#(byType)}, "by_status": {\#(byStatus)}, "total_size": \#(stats.totalSize)}"#)
            case "reprocess":
                guard let text = args.first else { fail(usage) }
                let mediaId = try int64(text)
                let result = try await withRepository(configuration) { repository -> ReprocessResult in
                    guard let media = try await repository.find(id: mediaId) else { return .notFound }
                    return try await repository.reprocess(id: mediaId, userId: media.userId)
                }
                switch result {
                case .notFound: fail("media \(mediaId) not found")
                case .notFailed(let media): fail("media \(mediaId) is \(media.status.rawValue); only failed media can be reprocessed")
                case .started(let media): print("media \(mediaId) reprocessing as generation \(media.generation)")
                }
            default:
                fail(usage)
            }
        } catch {
            fail("mediactl: \(DatabaseFailure.describe(error))")
        }
    }

    static func withRepository<T: Sendable>(
        _ configuration: GatewayConfiguration, _ body: @escaping @Sendable (PostgresMediaRepository) async throws -> T
    ) async throws -> T {
        var database = configuration.common.database
        database.maxConnections = 2
        var logger = Logger(label: "mediactl")
        // PostgresNIO warns when a query races the pool's start-up; it waits correctly, so only errors matter here.
        logger.logLevel = .error
        let client = try database.makeClient(logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await Migrations.run(on: client, logger: logger)
            return try await body(PostgresMediaRepository(client: client, logger: logger))
        }
    }

    static func option(_ name: String, in args: [String]) -> String? {
        guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    static func int64(_ text: String) throws -> Int64 {
        guard let value = Int64(text) else { throw ConfigurationError("not an integer: \(text)") }
        return value
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
