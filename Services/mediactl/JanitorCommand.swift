import ArgumentParser
import Foundation
import Operations
import Persistence

struct JanitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "janitor", abstract: "Run the Janitor's tasks by hand (SPEC §4).", subcommands: [RunJanitorTask.self])
}

struct RunJanitorTask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run one task now and print what it did (recorded in janitor_runs).")

    @Argument(help: "failed_cleanup, orphan_sweep, stuck_processing or outbox_watch.") var task: String
    @Flag(help: "Count what the task would do; change nothing.") var dryRun = false

    func validate() throws {
        guard JanitorTaskName(rawValue: task) != nil else {
            throw ValidationError("unknown task \(task): \(JanitorTaskName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            guard let task = JanitorTaskName(rawValue: task) else { throw ExitCode(2) }
            let dryRun = self.dryRun
            let result = try await configuration.withDatabase { client, repository in
                let tasks = JanitorTasks(
                    store: repository, storage: try configuration.common.storage.makeStorage(),
                    uploads: PostgresResumableUploadStore(client: client, logger: configuration.logger),
                    settings: configuration.janitor, instance: "mediactl@\(ProcessInfo.processInfo.hostName)",
                    logger: configuration.logger)
                return try await tasks.run(task, dryRun: dryRun, trigger: "manual")
            }
            print("\(task.rawValue)\(dryRun ? " (dry run)" : ""): run \(result.runId)")
            for (key, value) in result.report.counts.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
        }
    }
}
