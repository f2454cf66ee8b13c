import Foundation
import MediaDomain
import Logging
import Messaging
import Metrics
import Persistence
import ServiceLifecycle
import Synchronization

/// Publishes outbox rows with publisher confirms and marks them sent.
///
/// Runs inside the Gateway (several Gateways are fine: each claims its rows with a lease, taken with `FOR UPDATE
/// SKIP LOCKED` in one short statement). Claim, publish and mark are three steps with no transaction between them,
/// so waiting for the broker's confirms never holds a row lock or a database connection. It wakes when a request
/// wrote a row (`notify()`), and polls as a fallback so rows written while the broker was down, or by another
/// process, still drain. A row is marked sent only after its confirm, so a crash between publish and mark
/// re-publishes it once the lease runs out: consumers dedupe on the event id.
public final class OutboxRelay: Service, Sendable {
    let store: any OutboxStore
    let broker: any MessageBroker
    let logger: Logger
    let pollInterval: Duration
    let batchSize: Int
    /// How long a claimed row is left to this relay; longer than any publish of a batch takes.
    let claimLease: Duration
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let sentCounter = Counter(label: "mediaflow_outbox_published_total")
    private let failedCounter = Counter(label: "mediaflow_outbox_publish_failures_total")

    public init(
        store: any OutboxStore, broker: any MessageBroker, logger: Logger,
        pollInterval: Duration = .milliseconds(500), batchSize: Int = 100, claimLease: Duration = .seconds(60)
    ) {
        self.store = store
        self.broker = broker
        self.logger = logger
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        self.claimLease = claimLease
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks the relay to look at the outbox now (a request just committed a row).
    public func notify() { wake.yield() }

    public func run() async throws {
        let poller = Task { [wake, pollInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                wake.yield()
            }
        }
        defer { poller.cancel() }
        await withGracefulShutdownHandler {
            for await _ in wakeups.cancelOnGracefulShutdown() {
                await drain()
            }
        } onGracefulShutdown: { [wake] in
            wake.finish()
        }
    }

    /// Sends batches until the outbox is empty or publishing fails. Returns how many were sent.
    @discardableResult
    public func drain() async -> Int {
        var total = 0
        while true {
            let entries: [OutboxEntry]
            do {
                entries = try await store.claimOutbox(limit: batchSize, lease: claimLease)
            } catch {
                logger.warning("outbox relay cannot read the outbox", metadata: ["error": "\(DatabaseFailure.describe(error))"])
                return total
            }
            guard !entries.isEmpty else { return total }
            let (sent, failure) = await Self.publish(
                entries, broker: broker, logger: logger, sent: sentCounter, failed: failedCounter)
            do {
                try await store.markSent(sent)
                if let failure {
                    let unsent = Set(entries.map(\.id)).subtracting(sent)
                    try await store.releaseClaims(Array(unsent), error: failure)
                }
            } catch {
                // Published but not marked: the claims run out and those events go out again (deduped downstream).
                logger.warning("outbox rows published but not marked sent; they will be published again", metadata: [
                    "count": "\(sent.count)", "error": "\(DatabaseFailure.describe(error))",
                ])
                return total + sent.count
            }
            total += sent.count
            if failure != nil || entries.count < batchSize { return total }
        }
    }

    /// Publishes concurrently; returns the ids confirmed and, when some failed, the first failure's text.
    private static func publish(
        _ entries: [OutboxEntry], broker: any MessageBroker, logger: Logger, sent: Counter, failed: Counter
    ) async -> (sent: [Int64], failure: String?) {
        // Publish concurrently: the broker batches confirms, so a burst costs about one round trip.
        let results = await withTaskGroup(of: (Int64, (any Error)?).self) { group in
            for entry in entries {
                group.addTask {
                    do {
                        try await broker.publish(OutgoingMessage(
                            exchange: entry.exchange, routingKey: entry.routingKey, body: entry.body,
                            messageId: entry.eventId.uuidString.lowercased(), type: entry.eventType,
                            headers: entry.traceparent.map { [TraceParent.headerName: $0] } ?? [:]))
                        return (entry.id, nil)
                    } catch {
                        return (entry.id, error)
                    }
                }
            }
            var results: [(Int64, (any Error)?)] = []
            for await result in group { results.append(result) }
            return results
        }
        let ids = results.compactMap { $0.1 == nil ? $0.0 : nil }
        sent.increment(by: ids.count)
        let failures = results.compactMap(\.1)
        guard let first = failures.first else { return (ids, nil) }
        failed.increment(by: failures.count)
        // One line per batch, not per event: an outage with a long outbox must not flood the log.
        logger.warning("outbox events not published; they stay in the outbox and are retried", metadata: [
            "failed": "\(failures.count)", "of": "\(entries.count)", "error": "\(first)",
        ])
        return (ids, "\(first)")
    }
}
