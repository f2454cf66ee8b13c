import Foundation
import Logging
import Messaging
import MediaDomain
import Metrics
import Operations
import Persistence
import PostgresNIO
import ServiceCore
import ServiceKit
import ServiceLifecycle

/// Runs the Janitor's tasks while this process holds the Janitor lock (a PostgreSQL session advisory lock on a
/// connection kept for the purpose), so exactly one Janitor acts however many run: on their schedule, and the runs
/// staff and `mediactl` ask for on `janitor.commands`, which only the acting Janitor consumes. The others stand by,
/// trying for the lock every `standbyPoll`: when the acting one dies its session ends, the lock is free, and one of
/// them takes over within that time. Each task's next run follows its last recorded run in `janitor_runs`, whoever
/// made it, so a takeover neither repeats nor skips work.
///
/// The lock alone does not fence: a Janitor whose session was lost may still be running a task on other pooled
/// connections when its successor starts. So the acting Janitor takes the Janitor lease (the next epoch) when it gets
/// the lock, and every write of its tasks checks that epoch in its own transaction (`JanitorFence`): once a successor
/// took the lease, the deposed Janitor's writes are refused.
public struct JanitorScheduler: Service {
    /// The lock every Janitor contends for (the migrations use 7210331).
    static let lockKey: Int64 = 7_210_332

    let client: PostgresClient
    let tasks: JanitorTasks
    let store: any OperationsStore
    let broker: any MessageBroker
    let settings: JanitorSettings
    let standbyPoll: Duration
    let logger: Logger
    let acting = Gauge(label: "mediaflow_janitor_acting")

    public init(client: PostgresClient, tasks: JanitorTasks, store: any OperationsStore, broker: any MessageBroker,
                settings: JanitorSettings, standbyPoll: Duration, logger: Logger) {
        self.client = client
        self.tasks = tasks
        self.store = store
        self.broker = broker
        self.settings = settings
        self.standbyPoll = standbyPoll
        self.logger = logger
    }

    public func run() async throws {
        acting.record(0)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in try await holdLockAndWork(on: connection) }
                } catch is CancellationError {
                    break
                } catch {
                    acting.record(0)
                    logger.warning("janitor lost its database session; standing by", metadata: [
                        "error": "\(DatabaseFailure.describe(error))",
                    ])
                }
                try? await Task.sleep(for: standbyPoll)
            }
        }
        acting.record(0)
    }

    /// Stands by on `connection` until the lock is ours, then works while the session lives.
    private func holdLockAndWork(on connection: PostgresConnection) async throws {
        var announcedStandby = false
        while true {
            try Task.checkCancellation()
            let rows = try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger).collect()
            if try rows.first?.decode(Bool.self) == true { break }
            if !announcedStandby {
                logger.info("janitor standing by: another one is acting")
                announcedStandby = true
            }
            try await Task.sleep(for: standbyPoll)
        }
        let fence = try await store.takeJanitorLease(holder: tasks.instance)
        acting.record(1)
        logger.notice("janitor acting", metadata: ["epoch": "\(fence.epoch)"])
        defer { acting.record(0) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await work(holding: connection, fence: fence) }
                group.addTask { try await serveRequests(fence: fence) }
                // Either ends only by an error (the session lost, the broker gone for good) or cancellation: both stop.
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            // The connection goes back to the pool: it must not keep the lock there, idle, where no Janitor can get
            // it. If giving it up fails, the connection is closed, which gives it up too.
            do {
                _ = try await connection.query("SELECT pg_advisory_unlock_all()", logger: logger).collect()
            } catch let unlockError {
                logger.warning("janitor lock not released; closing its connection", metadata: [
                    "error": "\(DatabaseFailure.describe(unlockError))",
                ])
                do {
                    try await connection.close()
                } catch let closeError {
                    logger.error("janitor lock connection not closed", metadata: ["error": "\(closeError)"])
                }
            }
            throw error
        }
    }

    /// Runs the tasks when due, for as long as the lock's session lives.
    private func work(holding connection: PostgresConnection, fence: JanitorFence) async throws {
        var due = try await firstRuns()
        while true {
            try Task.checkCancellation()
            // The session (and so the lock) must still be ours before each round of work.
            _ = try await connection.query("SELECT 1", logger: logger).collect()
            let now = ContinuousClock.now
            for task in JanitorTaskName.allCases where (due[task] ?? now) <= now {
                do {
                    try await tasks.run(task, dryRun: false, trigger: "schedule", fence: fence)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // Logged (and recorded, when it could be) by the run; the next one comes on schedule.
                }
                due[task] = ContinuousClock.now + (settings.every[task] ?? .seconds(3600))
            }
            let next = due.values.min() ?? now + .seconds(1)
            try await Task.sleep(until: min(next, ContinuousClock.now + .seconds(1)))
        }
    }

    /// Runs what staff and `mediactl` ask for (`janitor.run` commands), one at a time, while acting.
    private func serveRequests(fence: JanitorFence) async throws {
        try await broker.declareWhenReachable(MediaTopology.all(), logger: logger)
        try await broker.consume(queue: MediaTopology.janitorCommands, prefetch: 1, drain: nil) { delivery in
            guard let command = JanitorRunCommand(body: delivery.message.body) else {
                logger.error("unreadable janitor command dropped", metadata: ["message_id": "\(delivery.message.messageId)"])
                try? await delivery.ack()
                return
            }
            var logger = self.logger
            logger[metadataKey: "run_id"] = "\(command.runId)"
            do {
                if try await store.claimRequestedRun(id: command.runId, instance: tasks.instance) {
                    // Its outcome (or failure) is recorded in the run; the asker reads it there.
                    _ = try? await tasks.run(command.task, dryRun: command.dryRun, trigger: "request", fence: fence,
                                             requested: command.runId)
                } else if let run = try await store.janitorRun(id: command.runId), run.state == "running",
                          run.instance != tasks.instance {
                    // Redelivered after the Janitor that took it stopped mid-run: what it did is not known; said so.
                    try await store.finishRun(id: command.runId, counts: [:],
                                              error: "the Janitor running it (\(run.instance)) stopped; ask again")
                    logger.warning("janitor run abandoned by a Janitor that stopped", metadata: ["instance": "\(run.instance)"])
                }
                try await delivery.ack()
            } catch {
                logger.warning("janitor command not handled; it goes back to its queue", metadata: [
                    "error": "\(DatabaseFailure.describe(error))",
                ])
                try? await Task.sleep(for: .seconds(1))
                try? await delivery.reject(requeue: true)
            }
        }
    }

    /// When each task is first due: an interval after its last recorded run (by any Janitor), or now.
    private func firstRuns() async throws -> [JanitorTaskName: ContinuousClock.Instant] {
        var due: [JanitorTaskName: ContinuousClock.Instant] = [:]
        let now = ContinuousClock.now
        for task in JanitorTaskName.allCases {
            guard let last = try await store.janitorRuns(task: task.rawValue, limit: 10)
                .first(where: { !$0.dryRun && $0.state != "requested" }),
                  let every = settings.every[task]
            else {
                due[task] = now
                continue
            }
            let since = Date().timeIntervalSince(last.startedAt)
            let wait = max(0, Double(every.components.seconds) - since)
            due[task] = now + .milliseconds(Int64(wait * 1000))
        }
        return due
    }
}
