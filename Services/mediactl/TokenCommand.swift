import ArgumentParser
import Foundation
import Tokens

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Print an access token signed with MEDIA_JWT_SECRET (for development).")

    @Option(help: "The user's id.") var userId: Int64 = 1
    @Option(help: "The user's name (default user<ID>).") var username: String?
    @Flag(help: "A staff member's token (is_staff).") var staff = false
    @Option(help: "Seconds the token stays valid.") var ttl: Int = 86_400

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            let user = AuthenticatedUser(id: userId, username: username ?? "user\(userId)", isStaff: staff)
            print(JWTAuthenticator(secret: configuration.jwtSecret).mint(user: user, lifetime: TimeInterval(ttl)))
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Print a user's figures as JSON.")

    @Option(help: "The user's id.") var userId: Int64

    func run() async throws {
        try await mediactl.run {
            let stats = try await MediaCtlConfiguration().withDatabase { _, repository in
                try await repository.stats(userId: userId)
            }
            let byType = stats.byType.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\"\($0.key.rawValue)\": \($0.value)" }.joined(separator: ", ")
            let byStatus = stats.byStatus.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\"\($0.key.rawValue)\": \($0.value)" }.joined(separator: ", ")
            print(#"{"total": \#(stats.total), "by_type": {\#(byType)}, "by_status": {\#(byStatus)}, "total_size": \#(stats.totalSize)}"#)
        }
    }
}
