import Foundation
import Synchronization

/// `WebhookStore` in memory, for unit tests. Deliveries are made by `fanOut` (the trigger's part in PostgreSQL).
public final class MemoryWebhookStore: WebhookStore {
    private struct Row {
        var delivery: WebhookDelivery
        var failures = 0
        var claimedUntil: Date?
        var claim: UUID?
    }

    private struct State {
        var webhooks: [Webhook] = []
        var deliveries: [Row] = []
        var nextDelivery: Int64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Makes the deliveries of an event for every webhook of its user that asked for its type.
    public func fanOut(_ event: MediaEventRecord) {
        state.withLock { state in
            for webhook in state.webhooks where webhook.userId == event.userId && webhook.events.contains(event.type) {
                state.nextDelivery += 1
                state.deliveries.append(Row(delivery: WebhookDelivery(
                    id: state.nextDelivery, webhookId: webhook.id, eventId: event.id, eventType: event.type,
                    status: .pending, nextAttemptAt: Date(), createdAt: Date(), attempts: [])))
            }
        }
    }

    public func createWebhook(userId: Int64, url: String, events: [String], secret: String, limit: Int) async throws -> Webhook {
        try state.withLock { state in
            guard state.webhooks.count(where: { $0.userId == userId }) < limit else { throw TooManyWebhooks(limit: limit) }
            let webhook = Webhook(id: (state.webhooks.map(\.id).max() ?? 0) + 1, userId: userId, url: url, events: events,
                                  secret: secret, createdAt: Date())
            state.webhooks.append(webhook)
            return webhook
        }
    }

    public func webhooks(userId: Int64) async throws -> [Webhook] {
        state.withLock { $0.webhooks.filter { $0.userId == userId } }
    }

    public func webhook(id: Int64, userId: Int64) async throws -> Webhook? {
        state.withLock { $0.webhooks.first { $0.id == id && $0.userId == userId } }
    }

    public func deleteWebhook(id: Int64, userId: Int64) async throws -> Bool {
        state.withLock { state in
            guard state.webhooks.contains(where: { $0.id == id && $0.userId == userId }) else { return false }
            state.webhooks.removeAll { $0.id == id }
            state.deliveries.removeAll { $0.delivery.webhookId == id }
            return true
        }
    }

    public func deliveries(webhookId: Int64, offset: Int, limit: Int) async throws -> (count: Int, deliveries: [WebhookDelivery]) {
        state.withLock { state in
            let all = state.deliveries.filter { $0.delivery.webhookId == webhookId }.map(\.delivery).reversed()
            return (all.count, Array(all.dropFirst(offset).prefix(limit)))
        }
    }

    public func redeliver(deliveryId: Int64, webhookId: Int64) async throws -> WebhookDelivery? {
        state.withLock { state in
            guard let i = state.deliveries.firstIndex(where: { $0.delivery.id == deliveryId && $0.delivery.webhookId == webhookId })
            else { return nil }
            state.deliveries[i].delivery.status = .pending
            state.deliveries[i].delivery.nextAttemptAt = Date()
            state.deliveries[i].failures = 0
            state.deliveries[i].claimedUntil = nil
            state.deliveries[i].claim = nil
            return state.deliveries[i].delivery
        }
    }

    public func claimDue(limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        let now = Date()
        return state.withLock { state in
            var claimed: [ClaimedDelivery] = []
            for i in state.deliveries.indices where claimed.count < limit {
                let row = state.deliveries[i]
                guard row.delivery.status == .pending, let due = row.delivery.nextAttemptAt, due <= now,
                      (row.claimedUntil ?? .distantPast) < now,
                      let webhook = state.webhooks.first(where: { $0.id == row.delivery.webhookId })
                else { continue }
                state.deliveries[i].claimedUntil = now.addingTimeInterval(Double(lease.components.seconds))
                let claim = UUID()
                state.deliveries[i].claim = claim
                claimed.append(ClaimedDelivery(
                    id: row.delivery.id, claim: claim, eventId: row.delivery.eventId, eventType: row.delivery.eventType,
                    failures: row.failures, url: webhook.url, secret: webhook.secret))
            }
            return claimed
        }
    }

    @discardableResult
    public func record(deliveryId: Int64, claim: UUID, attempt: WebhookAttempt, outcome: DeliveryOutcome) async throws -> Bool {
        state.withLock { state in
            guard let i = state.deliveries.firstIndex(where: { $0.delivery.id == deliveryId }) else { return false }
            state.deliveries[i].delivery.attempts.append(attempt)
            guard state.deliveries[i].claim == claim else { return false }
            state.deliveries[i].claimedUntil = nil
            state.deliveries[i].claim = nil
            switch outcome {
            case .succeeded:
                state.deliveries[i].delivery.status = .succeeded
                state.deliveries[i].delivery.nextAttemptAt = nil
            case .retry(let after):
                state.deliveries[i].failures += 1
                state.deliveries[i].delivery.nextAttemptAt = Date().addingTimeInterval(Double(after.components.seconds))
            case .failed:
                state.deliveries[i].failures += 1
                state.deliveries[i].delivery.status = .failed
                state.deliveries[i].delivery.nextAttemptAt = nil
            }
            return true
        }
    }

    public func secondsUntilNextDue() async throws -> Double? {
        state.withLock { state in
            state.deliveries.filter { $0.delivery.status == .pending }.compactMap(\.delivery.nextAttemptAt)
                .min().map { $0.timeIntervalSinceNow }
        }
    }
}
