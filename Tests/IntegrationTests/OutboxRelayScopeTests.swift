import Foundation
import Logging
import MediaDomain
import Messaging
import Persistence
import PostgresNIO
import ServiceCore
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// The relay claims, publishes and marks in separate short statements: while it waits for the broker's confirm, no
/// row of the outbox is locked and no transaction is open, so uploads and other relays never queue behind a slow
/// broker (issue 19).
@Suite("Outbox relay's transaction scope on real PostgreSQL", .serialized,
       .enabled(if: TestServers.available, "needs make test's servers"))
struct OutboxRelayScopeTests {
    /// A broker whose publishes (and so their confirms) wait until the test lets them through.
    final class HeldBroker: MessageBroker {
        let base = InMemoryBroker()
        let gate = Mutex<[CheckedContinuation<Void, Never>]>([])
        let open = Mutex(false)
        let arrived = Mutex<[OutgoingMessage]>([])

        func declare(_ topology: BrokerTopology) async throws { try await base.declare(topology) }
        func consume(queue: String, prefetch: Int, drain: DrainSignal?,
                     handler: @escaping @Sendable (Delivery) async -> Void) async throws {
            try await base.consume(queue: queue, prefetch: prefetch, drain: drain, handler: handler)
        }
        func queueStatus(queue: String) async throws -> QueueStatus { try await base.queueStatus(queue: queue) }
        func publish(_ message: OutgoingMessage) async throws {
            arrived.withLock { $0.append(message) }
            if !open.withLock({ $0 }) {
                await withCheckedContinuation { continuation in
                    let released = open.withLock { isOpen -> Bool in
                        if isOpen { return true }
                        gate.withLock { $0.append(continuation) }
                        return false
                    }
                    if released { continuation.resume() }
                }
            }
            try await base.publish(message)
        }
        func release() {
            let waiting = open.withLock { isOpen -> [CheckedContinuation<Void, Never>] in
                isOpen = true
                return gate.withLock { g in defer { g = [] }; return g }
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    /// Sends what earlier suites left unsent, so the batches below are this test's alone.
    func flushOutbox(_ repository: PostgresMediaRepository) async throws {
        let broker = InMemoryBroker()
        try await broker.declare(MediaTopology.all())
        let flush = OutboxRelay(store: repository, broker: broker, logger: TestServers.logger)
        while await flush.drain() > 0 {}
        #expect(try await repository.pendingCount() == 0)
    }

    func newMedia(user: Int64) -> NewMedia {
        NewMedia(userId: user, username: "itest", format: .jpeg, fileSize: 10, originalFilename: "a.jpg",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg), isPublic: true)
    }

    /// The outbox row of a media's `media.uploaded`.
    func outboxRow(_ client: PostgresClient, media: Media) async throws -> (id: Int64, eventId: UUID, sent: Bool, claimed: Bool) {
        let rows = try await client.query(
            """
            SELECT id, event_id, sent_at IS NOT NULL, claimed_until IS NOT NULL FROM outbox
            WHERE (convert_from(body, 'UTF8')::jsonb ->> 'media_id')::bigint = \(media.id)
            """
        ).collect()
        let row = try #require(rows.first)
        let (id, eventId, sent, claimed) = try row.decode((Int64, UUID, Bool, Bool).self)
        return (id, eventId, sent, claimed)
    }

    @Test func whileTheConfirmIsHeldNoRowIsLockedAndNoTransactionIsOpen() async throws {
        try await TestServers.withDatabase { client, repository in
            // Earlier suites may have left unsent rows; send them first so the batch below is ours alone.
            try await flushOutbox(repository)
            guard case .created(let media) = try await repository.create(newMedia(user: 616161)) else {
                Issue.record("not created"); return
            }
            let eventId = try await outboxRow(client, media: media).eventId
            let broker = HeldBroker()
            try await broker.declare(MediaTopology.all())
            let relay = OutboxRelay(store: repository, broker: broker, logger: TestServers.logger)
            let draining = Task { await relay.drain() }

            let held = await eventually { broker.arrived.withLock { !$0.isEmpty } }
            #expect(held, "the relay handed the event to the broker")
            let row = try await outboxRow(client, media: media)
            #expect(!row.sent && row.claimed, "claimed, not yet sent")

            // Another session may lock the row at once: the relay holds no lock while it waits.
            let lockedAtOnce = try await client.withTransaction(logger: TestServers.logger) { connection -> Bool in
                try await connection.query("SET LOCAL lock_timeout = '200ms'", logger: TestServers.logger)
                let rows = try await connection.query(
                    "SELECT id FROM outbox WHERE id = \(row.id) FOR UPDATE NOWAIT", logger: TestServers.logger).collect()
                return rows.count == 1
            }
            #expect(lockedAtOnce, "the outbox row is not locked while the confirm is held")
            var openTransactions = -1
            for try await count in try await client.query(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND state LIKE 'idle in transaction%'
                """).decode(Int.self) { openTransactions = count }
            #expect(openTransactions == 0, "no session sits in an open transaction while the relay waits")
            // A second relay does not take a row the first one has claimed.
            let others = try await repository.claimOutbox(limit: 100, lease: .seconds(60))
            #expect(others.allSatisfy { $0.eventId != eventId })
            try await repository.releaseClaims(others.map(\.id), error: "released by the test")

            broker.release()
            #expect(await draining.value >= 1)
            let after = try await outboxRow(client, media: media)
            #expect(after.sent && !after.claimed, "marked sent once confirmed")
        }
    }

    @Test func aFailedPublishReleasesTheClaimAndAnExpiredClaimIsTakenAgain() async throws {
        try await TestServers.withDatabase { client, repository in
            try await flushOutbox(repository)
            guard case .created(let media) = try await repository.create(newMedia(user: 616162)) else {
                Issue.record("not created"); return
            }
            let eventId = try await outboxRow(client, media: media).eventId

            // A relay that died after claiming: its lease runs out and another relay takes the row.
            let first = try await repository.claimOutbox(limit: 100, lease: .milliseconds(300))
            #expect(first.contains { $0.eventId == eventId })
            #expect(try await repository.claimOutbox(limit: 100, lease: .seconds(60)).isEmpty, "leased rows are skipped")
            try await Task.sleep(for: .milliseconds(400))
            let second = try await repository.claimOutbox(limit: 100, lease: .seconds(60))
            #expect(second.map(\.eventId) == [eventId], "taken again once the lease ran out")

            // A publish that failed gives the row back at once, with the reason.
            try await repository.releaseClaims(second.map(\.id), error: "broker unreachable")
            var reason: String?
            for try await text in try await client.query(
                "SELECT last_error FROM outbox WHERE event_id = \(eventId) AND claimed_until IS NULL AND sent_at IS NULL"
            ).decode(String?.self) { reason = text }
            #expect(reason == "broker unreachable")
            let third = try await repository.claimOutbox(limit: 100, lease: .seconds(60))
            #expect(third.map(\.eventId) == [eventId])
            try await repository.markSent(third.map(\.id))
            #expect(try await outboxRow(client, media: media).sent)
            #expect(try await repository.pendingCount() == 0)
        }
    }
}
