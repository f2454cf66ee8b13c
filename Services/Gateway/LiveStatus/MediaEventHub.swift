import Foundation
import GatewayKit
import Logging
import Metrics
import Persistence
import Synchronization

/// What an open live-status stream is handed.
package enum LiveStatusItem: Sendable {
    case event(MediaEventRecord)
    /// Time for a comment line, so proxies keep an idle stream open.
    case keepAlive
    /// The stream is over (`token_expired`): an `end` event says why, then the stream closes.
    case end(reason: String)
}

/// The open live-status streams of this Gateway, by user. One PostgreSQL listener (`MediaEventListener`) hands it
/// the events every process records; it passes each to the streams of its user (and of staff watching everyone).
/// A stream costs an `AsyncStream` and a dictionary entry here, nothing more: no task, timer or connection of its own.
package final class MediaEventHub: Sendable {
    /// Events a stream may fall behind by before it is closed: its client then resumes from its `Last-Event-ID`
    /// (nothing is lost), instead of this process holding an ever longer queue for a reader that does not read.
    package static let backlog = 1_000

    private struct Subscriber {
        let userId: Int64?
        /// When the credentials that opened the stream expire (nil: never).
        let expiresAt: Date?
        let continuation: AsyncStream<LiveStatusItem>.Continuation
    }

    package let logger = Logger(label: "mediaflow.gateway.live-status")

    private struct State {
        var nextId = 0
        var subscribers: [Int: Subscriber] = [:]
        var byUser: [Int64: Set<Int>] = [:]
        var everyone: Set<Int> = []
    }

    private let state = Mutex(State())
    private let open = Gauge(label: "mediaflow_live_status_streams")
    private let sent = Counter(label: "mediaflow_live_status_events_total")

    package init() {}

    /// A stream of `userId`'s events, or of every user's when nil (staff), until `expiresAt`. Call `unsubscribe` with
    /// the id when done.
    package func subscribe(userId: Int64?, expiresAt: Date? = nil) -> (id: Int, items: AsyncStream<LiveStatusItem>) {
        let (items, continuation) = AsyncStream.makeStream(
            of: LiveStatusItem.self, bufferingPolicy: .bufferingOldest(Self.backlog))
        let (id, count) = state.withLock { state in
            state.nextId += 1
            let id = state.nextId
            state.subscribers[id] = Subscriber(userId: userId, expiresAt: expiresAt, continuation: continuation)
            if let userId { state.byUser[userId, default: []].insert(id) } else { state.everyone.insert(id) }
            return (id, state.subscribers.count)
        }
        open.record(count)
        return (id, items)
    }

    package func unsubscribe(_ id: Int) {
        let (removed, count) = state.withLock { state -> (Subscriber?, Int) in
            guard let subscriber = state.subscribers.removeValue(forKey: id) else { return (nil, state.subscribers.count) }
            if let userId = subscriber.userId {
                state.byUser[userId]?.remove(id)
                if state.byUser[userId]?.isEmpty == true { state.byUser[userId] = nil }
            } else {
                state.everyone.remove(id)
            }
            return (subscriber, state.subscribers.count)
        }
        removed?.continuation.finish()
        open.record(count)
    }

    /// Whether any stream here wants `userId`'s events (the listener reads an event only then).
    package func isWatched(userId: Int64) -> Bool {
        state.withLock { !$0.everyone.isEmpty || $0.byUser[userId] != nil }
    }

    package var streamCount: Int { state.withLock { $0.subscribers.count } }

    /// Hands each event to the streams of its user and to everyone's; a stream too far behind is closed.
    package func dispatch(_ records: [MediaEventRecord]) {
        for record in records {
            let targets = state.withLock { state in
                (state.byUser[record.userId] ?? []).union(state.everyone).compactMap { id in
                    state.subscribers[id].map { (id, $0) }
                }
            }
            for (id, subscriber) in targets {
                if case .dropped = subscriber.continuation.yield(.event(record)) {
                    logger.warning("live status: a stream fell too far behind and is closed; its client resumes from its last event id",
                                   metadata: ["stream": "\(id)", "user_id": "\(subscriber.userId.map(String.init) ?? "staff")",
                                              "backlog": "\(Self.backlog)"])
                    subscriber.continuation.finish()
                }
                sent.increment()
            }
        }
    }

    /// Asks every stream to write a keep-alive comment.
    package func keepAlive() {
        for continuation in state.withLock({ $0.subscribers.values.map(\.continuation) }) {
            continuation.yield(.keepAlive)
        }
    }

    /// Ends the streams whose credentials expired by `now`: each is told why, then closed.
    package func endExpired(now: Date) {
        let expired = state.withLock { state in
            state.subscribers.values.filter { ($0.expiresAt ?? .distantFuture) <= now }.map(\.continuation)
        }
        for continuation in expired {
            continuation.yield(.end(reason: "token_expired"))
            continuation.finish()
        }
    }

    /// Ends every stream (the Gateway is shutting down: clients reconnect elsewhere with their `Last-Event-ID`).
    package func finishAll() {
        for continuation in state.withLock({ $0.subscribers.values.map(\.continuation) }) { continuation.finish() }
    }
}
