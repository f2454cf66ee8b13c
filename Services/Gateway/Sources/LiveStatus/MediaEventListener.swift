import Logging
import Persistence
import PostgresNIO

/// Feeds `MediaEventHub` from PostgreSQL: listens on `media_events` (each event recorded by any process is announced
/// as `"<event id> <user id>"`), puts the announcements in id order (`EventSequencer`), and reads the events a stream
/// here wants, a batch at a time. After a lost connection it first reads what was recorded since the last id it
/// handed on, so open streams miss nothing. It also writes the keep-alive comments every `keepAliveInterval`.
struct MediaEventListener: Sendable {
    let client: PostgresClient
    let log: any MediaEventLog
    let hub: MediaEventHub
    let keepAliveInterval: Duration
    let logger: Logger

    private enum Input: Sendable {
        case announced(id: Int64, userId: Int64)
        /// Time passes: an id held behind a gap may be due.
        case tick
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: keepAliveInterval)
                    hub.keepAlive()
                }
            }
            await group.next()
            group.cancelAll()
        }
        hub.finishAll()
    }

    private func listen() async {
        var sequencer: EventSequencer?
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresMediaEventLog.channel) { notifications in
                        // Listening from here on; what was recorded before (since the last connection) is read now.
                        var current = try await catchUp(sequencer)
                        hub.horizon = current.horizon
                        logger.info("live status: listening for media events", metadata: ["after": "\(current.horizon)"])
                        delay = .milliseconds(100)
                        let (inputs, feed) = AsyncStream.makeStream(of: Input.self)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                defer { feed.finish() }
                                for try await notification in notifications {
                                    let parts = notification.payload.split(separator: " ")
                                    guard parts.count == 2, let id = Int64(parts[0]), let user = Int64(parts[1]) else {
                                        logger.warning("unreadable media event notification",
                                                       metadata: ["payload": "\(notification.payload)"])
                                        continue
                                    }
                                    feed.yield(.announced(id: id, userId: user))
                                }
                            }
                            group.addTask {
                                while !Task.isCancelled {
                                    try? await Task.sleep(for: .milliseconds(250))
                                    feed.yield(.tick)
                                }
                            }
                            defer { sequencer = current }
                            for await input in inputs {
                                let released: [EventSequencer.Announced] = switch input {
                                case .announced(let id, let user): current.saw(id, userId: user, at: .now)
                                case .tick: current.isWaiting ? current.release(at: .now) : []
                                }
                                try await handOn(released, sequencer: &current)
                            }
                            // The notifications ended: their error (a lost connection) goes up from here.
                            group.cancelAll()
                            while try await group.next() != nil {}
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("live status: media event notifications lost; reconnecting", metadata: [
                    "error": "\(DatabaseFailure.describe(error))", "retry_in": "\(delay)",
                ])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// Where a new connection starts: the newest event on the first, else everything recorded since the last id
    /// handed on (read and handed on now).
    private func catchUp(_ previous: EventSequencer?) async throws -> EventSequencer {
        guard let previous else { return EventSequencer(horizon: try await log.latestEventId()) }
        var horizon = previous.horizon
        var missed = try await log.events(after: horizon, limit: 1_000)
        while let last = missed.last {
            hub.dispatch(missed)
            horizon = last.id
            missed = missed.count < 1_000 ? [] : try await log.events(after: horizon, limit: 1_000)
        }
        return EventSequencer(horizon: horizon, hold: previous.hold)
    }

    /// Reads the released events the streams here want (one query for the batch) and hands them on; if the read
    /// fails, the sequencer goes back before them so the next connection reads them again.
    private func handOn(_ released: [EventSequencer.Announced], sequencer: inout EventSequencer) async throws {
        guard let first = released.first else { return }
        let wanted = released.filter { hub.isWatched(userId: $0.userId) }.map(\.id)
        do {
            if !wanted.isEmpty { hub.dispatch(try await log.events(ids: wanted)) }
        } catch {
            sequencer.rewind(to: first.id - 1)
            throw error
        }
        hub.horizon = max(hub.horizon, sequencer.horizon)
    }
}
