import Logging
import Persistence
import PostgresNIO

/// Feeds `MediaEventHub` from PostgreSQL: listens on `media_events` (each event recorded by any process is announced
/// as `"<event id> <user id>"`) and reads an announced event only when a stream here wants its user. After a lost
/// connection it first reads what was recorded meanwhile, so open streams miss nothing; it also writes the
/// keep-alive comments every `keepAliveInterval`.
struct MediaEventListener: Sendable {
    let client: PostgresClient
    let log: any MediaEventLog
    let hub: MediaEventHub
    let keepAliveInterval: Duration
    let logger: Logger

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
        var cursor: Int64?
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresMediaEventLog.channel) { notifications in
                        // Listening from here on; what was recorded before (since the last connection) is read now.
                        if let last = cursor {
                            var missed = try await log.events(after: last, limit: 1_000)
                            while !missed.isEmpty {
                                hub.dispatch(missed)
                                cursor = missed.last?.id ?? last
                                missed = missed.count < 1_000 ? [] : try await log.events(after: cursor ?? last, limit: 1_000)
                            }
                        } else {
                            cursor = try await log.latestEventId()
                        }
                        logger.info("live status: listening for media events", metadata: ["after": "\(cursor ?? 0)"])
                        delay = .milliseconds(100)
                        for try await notification in notifications {
                            let parts = notification.payload.split(separator: " ")
                            guard parts.count == 2, let id = Int64(parts[0]), let user = Int64(parts[1]) else {
                                logger.warning("unreadable media event notification", metadata: ["payload": "\(notification.payload)"])
                                continue
                            }
                            cursor = max(cursor ?? id, id)
                            guard hub.isWatched(userId: user) else { continue }
                            hub.dispatch(try await log.events(ids: [id]))
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
}
