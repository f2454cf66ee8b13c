import Foundation
import Persistence
import PostgresNIO
import Testing

/// SPEC §10's cap of 20 webhooks a user on the real PostgreSQL, where every Gateway registers: registrations that
/// race (here 40 at once, over many connections, as from several Gateways) never leave a user with more than the cap.
@Suite("Webhook cap on real PostgreSQL", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct WebhookLimitTests {
    @Test func fortyRegistrationsAtOnceLeaveExactlyTwenty() async throws {
        try await TestServers.withDatabase(maxConnections: 16) { client, _ in
            let store = PostgresWebhookStore(client: client, logger: TestServers.logger)
            let user = Int64.random(in: 3_000_000_000...4_000_000_000)   // above 2^31: the lock key wraps
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await store.createWebhook(
                                userId: user, url: "https://example.com/h\(n)", events: ["media.ready"], secret: "whsec_AA==",
                                limit: 20)
                            return true
                        } catch is TooManyWebhooks {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 20, "twenty registered, twenty refused")
            #expect(try await store.webhooks(userId: user).count == 20)
            for hook in try await store.webhooks(userId: user) { _ = try await store.deleteWebhook(id: hook.id, userId: user) }
        }
    }
}
