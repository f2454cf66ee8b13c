import Foundation
import Logging
import PostgresNIO

/// `WebhookStore` on the `webhooks`, `webhook_deliveries` and `webhook_attempts` tables (migration 10).
public struct PostgresWebhookStore: WebhookStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let webhookColumns = "id, user_id, url, events, secret, created_at"

    private func webhooks(_ query: PostgresQuery) async throws -> [Webhook] {
        try await Self.webhooks(from: client.query(query, logger: logger))
    }

    /// Rows of `webhookColumns` as webhooks.
    private static func webhooks(from rows: PostgresRowSequence) async throws -> [Webhook] {
        var result: [Webhook] = []
        for try await (id, user, url, events, secret, created) in rows.decode((Int64, Int64, String, [String], String, Date).self) {
            result.append(Webhook(id: id, userId: user, url: url, events: events, secret: secret, createdAt: created))
        }
        return result
    }

    public func createWebhook(userId: Int64, url: String, events: [String], secret: String, limit: Int) async throws -> Webhook {
        // nil: the user has `limit` already (returned, not thrown: the transaction wraps what its body throws).
        let created: Webhook? = try await client.transaction(logger: logger) { connection in
            // One registration of a user at a time (a lock for this transaction, on the user's id), so the count
            // below is the count the INSERT adds to.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(Self.registrationLockClass), (\(userId)::int8 % 2147483647)::int4)",
                logger: logger)
            var count = 0
            for try await n in try await connection.query(
                "SELECT count(*)::int8 FROM webhooks WHERE user_id = \(userId)", logger: logger).decode(Int64.self)
            {
                count = Int(n)
            }
            guard count < limit else { return nil }
            let inserted = try await Self.webhooks(from: connection.query(
                """
                INSERT INTO webhooks (user_id, url, events, secret) VALUES (\(userId), \(url), \(events), \(secret))
                RETURNING \(unescaped: Self.webhookColumns)
                """, logger: logger))
            guard let webhook = inserted.first else { throw PersistenceError.corruptRow("INSERT INTO webhooks returned no row") }
            return webhook
        }
        guard let created else { throw TooManyWebhooks(limit: limit) }
        return created
    }

    /// The first key of the advisory lock that serialises one user's webhook registrations.
    private static let registrationLockClass: Int32 = 0x5748_4B00   // "WHK\0"

    public func webhooks(userId: Int64) async throws -> [Webhook] {
        try await webhooks("SELECT \(unescaped: Self.webhookColumns) FROM webhooks WHERE user_id = \(userId) ORDER BY id")
    }

    public func webhook(id: Int64, userId: Int64) async throws -> Webhook? {
        try await webhooks(
            "SELECT \(unescaped: Self.webhookColumns) FROM webhooks WHERE id = \(id) AND user_id = \(userId)").first
    }

    public func deleteWebhook(id: Int64, userId: Int64) async throws -> Bool {
        var deleted = false
        for try await _ in try await client.query(
            "DELETE FROM webhooks WHERE id = \(id) AND user_id = \(userId) RETURNING id", logger: logger)
        {
            deleted = true
        }
        return deleted
    }

    private static let deliveryColumns = "id, webhook_id, event_id, event_type, status, next_attempt_at, created_at"

    private func deliveries(_ query: PostgresQuery) async throws -> [WebhookDelivery] {
        var result: [WebhookDelivery] = []
        for try await (id, webhook, event, type, status, next, created) in try await client.query(query, logger: logger)
            .decode((Int64, Int64, Int64, String, String, Date?, Date).self)
        {
            result.append(WebhookDelivery(
                id: id, webhookId: webhook, eventId: event, eventType: type,
                status: WebhookDeliveryStatus(rawValue: status) ?? .pending,
                nextAttemptAt: status == WebhookDeliveryStatus.pending.rawValue ? next : nil, createdAt: created,
                attempts: []))
        }
        guard !result.isEmpty else { return result }
        var attempts: [Int64: [WebhookAttempt]] = [:]
        for try await (delivery, at, ok, code, error, ms) in try await client.query(
            """
            SELECT delivery_id, attempted_at, succeeded, response_code, error, duration_ms FROM webhook_attempts
            WHERE delivery_id = ANY(\(result.map(\.id))) ORDER BY id
            """, logger: logger).decode((Int64, Date, Bool, Int?, String?, Int).self)
        {
            attempts[delivery, default: []].append(
                WebhookAttempt(attemptedAt: at, succeeded: ok, responseCode: code, error: error, durationMs: ms))
        }
        for i in result.indices { result[i].attempts = attempts[result[i].id] ?? [] }
        return result
    }

    public func deliveries(webhookId: Int64, offset: Int, limit: Int) async throws -> (count: Int, deliveries: [WebhookDelivery]) {
        var count = 0
        for try await n in try await client.query(
            "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = \(webhookId)", logger: logger).decode(Int64.self)
        {
            count = Int(n)
        }
        let page = try await deliveries(
            """
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries WHERE webhook_id = \(webhookId)
            ORDER BY id DESC OFFSET \(offset) LIMIT \(limit)
            """)
        return (count, page)
    }

    public func redeliver(deliveryId: Int64, webhookId: Int64) async throws -> WebhookDelivery? {
        let rows = try await deliveries(
            """
            UPDATE webhook_deliveries
            SET status = 'pending', attempts = 0, next_attempt_at = now(), \(unescaped: Lease.released), claim = NULL,
                updated_at = now()
            WHERE id = \(deliveryId) AND webhook_id = \(webhookId)
            RETURNING \(unescaped: Self.deliveryColumns)
            """)
        return rows.first
    }

    public func claimDue(limit: Int, lease: Duration) async throws -> [ClaimedDelivery] {
        var result: [ClaimedDelivery] = []
        for try await (id, claim, event, type, failures, url, secret) in try await client.query(
            """
            UPDATE webhook_deliveries d
            SET claimed_until = \(unescaped: Lease.until(lease)), claim = gen_random_uuid()
            FROM webhooks w
            WHERE w.id = d.webhook_id AND d.id IN (
                SELECT id FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now()
                  AND \(unescaped: Lease.isFree)
                ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.claim, d.event_id, d.event_type, d.attempts, w.url, w.secret
            """, logger: logger).decode((Int64, UUID, Int64, String, Int, String, String).self)
        {
            result.append(ClaimedDelivery(
                id: id, claim: claim, eventId: event, eventType: type, failures: failures, url: url, secret: secret))
        }
        return result
    }

    @discardableResult
    public func record(deliveryId: Int64, claim: UUID, attempt: WebhookAttempt, outcome: DeliveryOutcome) async throws -> Bool {
        let (status, failures, delay): (WebhookDeliveryStatus, Int, Int64?) = switch outcome {
        case .succeeded: (.succeeded, 0, nil)
        case .retry(let after): (.pending, 1, after.components.seconds)
        case .failed: (.failed, 1, nil)
        }
        return try await client.transaction(logger: logger) { connection in
            // The attempt is kept whatever became of the claim (it was made); not if the webhook was deleted meanwhile.
            try await connection.query(
                """
                INSERT INTO webhook_attempts (delivery_id, attempted_at, succeeded, response_code, error, duration_ms)
                SELECT id, \(attempt.attemptedAt), \(attempt.succeeded), \(attempt.responseCode), \(attempt.error),
                       \(attempt.durationMs)
                FROM webhook_deliveries WHERE id = \(deliveryId)
                """, logger: logger)
            let updated = try await connection.query(
                """
                UPDATE webhook_deliveries
                SET status = \(status.rawValue), attempts = attempts + \(failures), \(unescaped: Lease.released), claim = NULL,
                    updated_at = now(),
                    next_attempt_at = CASE WHEN \(delay)::bigint IS NULL THEN NULL
                                           ELSE now() + \(delay)::bigint * interval '1 second' END
                WHERE id = \(deliveryId) AND claim = \(claim)
                RETURNING id
                """, logger: logger).collect()
            return !updated.isEmpty
        }
    }

    public func secondsUntilNextDue() async throws -> Double? {
        for try await seconds in try await client.query(
            """
            SELECT extract(epoch FROM min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) - now())::float8
            FROM webhook_deliveries WHERE status = 'pending'
            """, logger: logger).decode(Double?.self)
        {
            return seconds
        }
        return nil
    }
}
