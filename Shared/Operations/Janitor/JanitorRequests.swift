import Foundation
import Logging
import MediaDomain
import Messaging
import Persistence
import ServiceCore

/// A `janitor.run` command: run `task` (a dry run or not) as the run `runId` that the asker recorded.
public struct JanitorRunCommand: Sendable, Equatable {
    public static let type = "janitor.run"

    public var runId: Int64
    public var task: JanitorTaskName
    public var dryRun: Bool

    public init(runId: Int64, task: JanitorTaskName, dryRun: Bool) {
        self.runId = runId
        self.task = task
        self.dryRun = dryRun
    }

    public var body: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("run_id"); w.int(runId)
        w.key("task"); w.string(task.rawValue)
        w.key("dry_run"); w.bool(dryRun)
        w.endObject()
        return w.bytes
    }

    public init?(body: [UInt8]) {
        guard case .object(let fields)? = try? body.withUnsafeBytes({ try JSONParser.parse($0) }),
              let runId = fields["run_id"]?.intValue, let name = fields["task"]?.stringValue,
              let task = JanitorTaskName(rawValue: name)
        else { return nil }
        self.init(runId: runId, task: task, dryRun: fields["dry_run"] == .bool(true))
    }
}

/// How staff (the API and the admin console) and `mediactl` have a Janitor task run (issue 27, defect 7): never by
/// running it themselves, beside the Janitor and outside its lock, but by asking the acting Janitor. The run is
/// recorded first (`requested`, so its id is the answer at once), then a `janitor.run` command goes to
/// `janitor.commands`, which only the acting Janitor consumes; it runs the task under its fence as that run. If no
/// Janitor acts now, the command waits in the queue.
public struct JanitorRequests: Sendable {
    let store: any OperationsStore
    let broker: any MessageBroker
    let logger: Logger

    public init(store: any OperationsStore, broker: any MessageBroker, logger: Logger) {
        self.store = store
        self.broker = broker
        self.logger = logger
    }

    /// Records the run and sends the command; returns the run's id. If the command cannot be sent, the run is finished
    /// with the reason and the error rethrown.
    public func request(_ task: JanitorTaskName, dryRun: Bool, trigger: String) async throws -> Int64 {
        let runId = try await store.requestRun(task: task.rawValue, dryRun: dryRun, trigger: trigger)
        let command = JanitorRunCommand(runId: runId, task: task, dryRun: dryRun)
        do {
            try await broker.publish(OutgoingMessage(
                exchange: "", routingKey: MediaTopology.janitorCommands, body: command.body,
                messageId: "janitor-run-\(runId)", type: JanitorRunCommand.type))
        } catch {
            try? await store.finishRun(id: runId, counts: [:], error: "the command could not be sent to the Janitor: \(error)")
            logger.error("janitor run not requested: the broker did not take the command", metadata: [
                "run_id": "\(runId)", "task": "\(task.rawValue)", "error": "\(error)",
            ])
            throw error
        }
        logger.info("janitor run requested", metadata: ["run_id": "\(runId)", "task": "\(task.rawValue)", "dry_run": "\(dryRun)"])
        return runId
    }

    /// The run once it finished within `timeout`, or as it stands; as it stands at once when no Janitor consumes the
    /// commands (none acts): the request waits in the queue for one to start, and holding the caller (the API, the
    /// admin console) would tell it nothing more. When the broker cannot say, it waits as if one listened.
    /// (`mediactl janitor run` calls `wait` instead: its caller chose to wait for a Janitor to come.)
    public func waitWhileListened(for runId: Int64, timeout: Duration) async throws -> JanitorRun? {
        let consumers = (try? await broker.queueStatus(queue: MediaTopology.janitorCommands).consumers) ?? 1
        return try await wait(for: runId, timeout: consumers > 0 ? timeout : .zero)
    }

    /// The run once it finished, or as it is when `timeout` passed.
    public func wait(for runId: Int64, timeout: Duration) async throws -> JanitorRun? {
        let deadline = ContinuousClock.now + timeout
        var delay = Duration.milliseconds(20)
        while true {
            let run = try await store.janitorRun(id: runId)
            if run?.state == "finished" || ContinuousClock.now >= deadline { return run }
            try await Task.sleep(for: min(delay, deadline - ContinuousClock.now))
            delay = min(delay * 2, .milliseconds(500))
        }
    }
}
