import Foundation
import GatewayKit
import Logging
import MediaDomain
import Metrics
import Persistence
import PostgresNIO

/// Feeds `MediaEventHub` from PostgreSQL: listens on `media_events`, where each event recorded by any process is
/// announced at commit as `"<position> <user id>"`, and reads the events a stream here wants. Positions are given in
/// the order events become visible (`TriggerFunction.mediaEventPosition`), and PostgreSQL delivers notifications in
/// commit order, so an event is handed on the moment it is announced: no reordering, no waiting for a gap. After a
/// lost connection it first reads what was recorded after the last position it handed on, so open streams miss
/// nothing. It also writes the keep-alive comments and ends streams whose token expired.
package struct MediaEventListener: Sendable {
    package let client: PostgresClient
    package let log: any MediaEventLog
    package let hub: MediaEventHub
    package let keepAliveInterval: Duration
    package let logger: Logger

    /// Announced events below the last position handed on that were not handed on: by construction there are none;
    /// counted and logged so a broken assumption shows instead of silently losing events.
    private let late = Counter(label: "mediaflow_live_status_late_events_total")

    package init(client: PostgresClient, log: any MediaEventLog, hub: MediaEventHub, keepAliveInterval: Duration, logger: Logger) {
        self.client = client
        self.log = log
        self.hub = hub
        self.keepAliveInterval = keepAliveInterval
        self.logger = logger
    }

    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: keepAliveInterval)
                    hub.keepAlive()
                }
            }
            group.addTask {
                // A stream ends when the token that opened it expires (SPEC §10); checked every second.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    hub.endExpired(now: Date())
                }
            }
            await group.next()
            group.cancelAll()
        }
        hub.finishAll()
    }

    private func listen() async {
        var handed: HandedPositions?
        var backoff = Backoff()
        while !Task.isCancelled {
            var problem = "the notifications ended"
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresMediaEventLog.channel) { notifications in
                        // Listening from here on; what was recorded before (since the last connection) is read now.
                        var current = try await catchUp(handed)
                        defer { handed = current }
                        logger.info("live status: listening for media events", metadata: ["after": "\(current.last)"])
                        backoff.reset()
                        for try await notification in notifications {
                            let parts = notification.payload.split(separator: " ")
                            guard parts.count == 2, let position = Int64(parts[0]), let user = Int64(parts[1]) else {
                                logger.warning("unreadable media event notification", metadata: ["payload": "\(notification.payload)"])
                                continue
                            }
                            try await handOn(position: position, userId: user, handed: &current)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                problem = DatabaseFailure.describe(error)
            }
            let delay = backoff.next()
            logger.warning("live status: media event notifications lost; reconnecting", metadata: [
                "error": "\(problem)", "retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
        }
    }

    /// Where a new connection starts: the newest position on the first, else everything recorded after the last
    /// position handed on (read and handed on now).
    private func catchUp(_ previous: HandedPositions?) async throws -> HandedPositions {
        guard var handed = previous else { return HandedPositions(last: try await log.latestPosition()) }
        var missed = try await log.events(after: handed.last, limit: 1_000)
        while let last = missed.last {
            hub.dispatch(missed)
            for record in missed { handed.add(record.position) }
            missed = missed.count < 1_000 ? [] : try await log.events(after: last.position, limit: 1_000)
        }
        return handed
    }

    /// Reads an announced event if a stream here wants its user, and hands it on. The catch-up may have handed it
    /// already (its notification then arrives after): that is no news.
    private func handOn(position: Int64, userId: Int64, handed: inout HandedPositions) async throws {
        if position <= handed.last {
            // Recorded before this Gateway listened, or handed on by a catch-up: nothing to do.
            guard position > handed.start, !handed.contains(position) else { return }
            late.increment()
            logger.error("live status: an event was announced after later ones were handed on; streams past it skip it",
                         metadata: ["position": "\(position)", "last_handed": "\(handed.last)"])
        }
        if hub.isWatched(userId: userId) {
            hub.dispatch(try await log.events(positions: [position]))
        }
        handed.add(position)
    }
}

/// The positions the listener handed on: where it started, the last, and the recent ones (to tell a repeat from a late
/// event).
package struct HandedPositions {
    package let start: Int64
    package private(set) var last: Int64
    private var recent: Set<Int64> = []
    private var order: [Int64] = []
    package static let remembered = 4_096

    package init(last: Int64) {
        start = last
        self.last = last
    }

    package func contains(_ position: Int64) -> Bool { recent.contains(position) }

    package mutating func add(_ position: Int64) {
        last = max(last, position)
        guard recent.insert(position).inserted else { return }
        order.append(position)
        if order.count > Self.remembered * 2 {
            for old in order.prefix(order.count - Self.remembered) { recent.remove(old) }
            order.removeFirst(order.count - Self.remembered)
        }
    }
}
