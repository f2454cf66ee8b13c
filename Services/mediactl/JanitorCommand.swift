import ArgumentParser
import Foundation
import Operations
import Persistence

struct JanitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "janitor", abstract: "Have the Janitor run its tasks now (SPEC §4).", subcommands: [RunJanitorTask.self])
}

struct RunJanitorTask: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Ask the acting Janitor to run one task now, wait for it and print what it did (recorded in janitor_runs).",
        discussion: """
            The task runs in the acting Janitor, under its lock and with its settings, never in mediactl: the run is
            recorded as requested and a janitor.run command sent; if no Janitor acts now, the command waits for one.
            """)

    @Argument(help: "failed_cleanup, orphan_sweep, stuck_processing, outbox_watch, quota_resync or backfill.") var task: String
    @Flag(help: "Count what the task would do; change nothing.") var dryRun = false
    @Flag(help: "Print the run's id and return at once.") var noWait = false
    @Option(help: "Seconds to wait for the run to finish.") var timeout = 600

    func validate() throws {
        guard JanitorTaskName(rawValue: task) != nil else {
            throw ValidationError("unknown task \(task): \(JanitorTaskName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1") }
    }

    func run() async throws {
        try await mediactl.run {
            let configuration = try MediaCtlConfiguration()
            guard let task = JanitorTaskName(rawValue: task) else { throw ExitCode(2) }
            let (dryRun, noWait, timeout) = (self.dryRun, self.noWait, self.timeout)
            let trigger = "mediactl@\(ProcessInfo.processInfo.hostName)"
            let run = try await configuration.withDatabase { _, repository in
                try await configuration.withBroker { broker in
                    let requests = JanitorRequests(store: repository, broker: broker, logger: configuration.logger)
                    let runId = try await requests.request(task, dryRun: dryRun, trigger: trigger)
                    print("\(task.rawValue)\(dryRun ? " (dry run)" : ""): run \(runId) requested")
                    if noWait { return nil as JanitorRun? }
                    return try await requests.wait(for: runId, timeout: .seconds(timeout))
                }
            }
            guard let run else { return }
            guard run.state == "finished" else {
                print("  not finished after \(timeout) s (\(run.state)); see it later in janitor_runs (run \(run.id))")
                throw ExitCode(3)
            }
            print("  ran in \(run.instance)")
            for (key, value) in run.counts.sorted(by: { $0.key < $1.key }) { print("  \(key): \(value)") }
            if let error = run.error {
                print("  failed: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
