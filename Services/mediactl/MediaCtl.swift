import ArgumentParser
import Foundation

/// The operator's command line (SPEC §4, §6, §10): development tokens, a user's figures and quota, reprocessing, the
/// dead queues and the Janitor's tasks. It reads the same environment as the services (`mediactl --help`), and gives up within
/// five seconds, saying so, when PostgreSQL or RabbitMQ cannot be reached.
@main
struct MediaCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mediactl",
        abstract: "Operate Mediaflow: tokens, stats, quotas, reprocessing, dead letters, the Janitor.",
        discussion: MediaCtlConfiguration.help,
        subcommands: [
            TokenCommand.self, StatsCommand.self, QuotaCommand.self, ReprocessCommand.self, DeadCommand.self, JanitorCommand.self,
            QuarantineCommand.self, RescanCommand.self,
        ])
}
