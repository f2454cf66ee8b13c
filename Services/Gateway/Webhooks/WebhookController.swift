import Foundation
import GatewayKit
import Hummingbird
import MediaDomain
import Persistence

/// `/api/webhooks/` (SPEC §8): a user registers URLs to be told of their media's events, sees each delivery with
/// every attempt, and asks for one again. Another user's webhook answers 404.
package struct WebhookController: Sendable {
    package let store: any WebhookStore
    package let policy: WebhookAddressPolicy
    package let links: MediaLinks

    package init(store: any WebhookStore, policy: WebhookAddressPolicy, links: MediaLinks) {
        self.store = store
        self.policy = policy
        self.links = links
    }

    package func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: detail)
        group.delete(":id", use: delete)
        group.get(":id/deliveries", use: deliveries)
        group.post(":id/deliveries/:delivery/redeliver", use: redeliver)
        group.methodNotAllowed("", allow: [.get, .head, .post])
        group.methodNotAllowed(":id", allow: [.get, .head, .delete])
        group.methodNotAllowed(":id/deliveries", allow: [.get, .head])
        group.methodNotAllowed(":id/deliveries/:delivery/redeliver", allow: [.post])
    }

    /// Webhooks one user may have (SPEC §10); the 21st registration gets 400 `too_many_webhooks`.
    package static let webhooksPerUser = 20

    package static let example = #"{"url": "https://example.com/hooks/media", "events": ["media.ready", "media.failed"]}"#

    @Sendable package func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONRequestBody(request, example: Self.example)
        guard case .string(let text)? = body.fields["url"] else {
            throw APIError.badRequest("invalid_request", "The field 'url' is required: an http or https URL.")
        }
        guard case .array(let values)? = body.fields["events"], !values.isEmpty else {
            throw APIError.badRequest("invalid_request",
                "The field 'events' is required: a list of \(MediaEventRecord.types.joined(separator: ", ")).")
        }
        var events: [String] = []
        for value in values {
            guard case .string(let name) = value, MediaEventRecord.types.contains(name) else {
                let shown = if case .string(let text) = value { "'\(text)'" } else { "\(value)" }
                throw APIError.badRequest("invalid_event",
                    "Unknown event \(shown): use \(MediaEventRecord.types.joined(separator: ", ")).")
            }
            if !events.contains(name) { events.append(name) }
        }
        let url: URL
        do {
            url = try policy.parse(text)
            _ = try await policy.resolve(url)
        } catch {
            context.logger.info("webhook refused", metadata: ["url": "\(text)", "reason": "\(error)"])
            throw APIError.badRequest("invalid_url", error.description)
        }
        let webhook: Webhook
        do {
            webhook = try await store.createWebhook(
                userId: user.id, url: url.absoluteString, events: events, secret: WebhookSignature.newSecret(),
                limit: Self.webhooksPerUser)
        } catch let error as TooManyWebhooks {
            context.logger.info("webhook refused: the user has as many as one may", metadata: ["limit": "\(error.limit)"])
            throw APIError.badRequest("too_many_webhooks",
                "You have \(error.limit) webhooks, as many as one may: delete one before registering another.")
        }
        context.logger.info("webhook registered", metadata: ["webhook_id": "\(webhook.id)", "url": "\(webhook.url)"])
        return try json(WebhookResource(webhook, withSecret: true), status: .created)
    }

    @Sendable package func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let hooks = try await store.webhooks(userId: try context.requireUser().id)
        struct List: Encodable {
            let count: Int
            let results: [WebhookResource]
        }
        return try json(List(count: hooks.count, results: hooks.map { WebhookResource($0, withSecret: false) }))
    }

    private func owned(_ context: GatewayRequestContext) async throws -> Webhook {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self),
              let webhook = try await store.webhook(id: id, userId: user.id)
        else { throw APIError.notFound() }
        return webhook
    }

    @Sendable package func detail(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try json(WebhookResource(try await owned(context), withSecret: false))
    }

    @Sendable package func delete(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self), try await store.deleteWebhook(id: id, userId: user.id)
        else { throw APIError.notFound() }
        context.logger.info("webhook deleted", metadata: ["webhook_id": "\(id)"])
        return Response(status: .noContent)
    }

    @Sendable package func deliveries(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let webhook = try await owned(context)
        let params = request.uri.queryParameters
        let paging = try Pagination(page: params["page"].map(String.init), pageSize: params["page_size"].map(String.init))
        let (count, items) = try await store.deliveries(webhookId: webhook.id, offset: paging.offset, limit: paging.size)
        try paging.requireExists(count: count)
        let path = "/api/webhooks/\(webhook.id)/deliveries/"
        let (next, previous) = paging.neighbours(count: count) { links.apiURL(path, query: paging.query($0, filters: [])) }
        struct Deliveries: Encodable {
            let count: Int
            let next: String?
            let previous: String?
            let results: [DeliveryResource]
        }
        return try json(Deliveries(count: count, next: next, previous: previous, results: items.map(DeliveryResource.init)))
    }

    @Sendable package func redeliver(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let webhook = try await owned(context)
        guard let id = context.parameters.get("delivery", as: Int64.self),
              let delivery = try await store.redeliver(deliveryId: id, webhookId: webhook.id)
        else { throw APIError.notFound() }
        context.logger.info("webhook delivery queued again", metadata: ["webhook_id": "\(webhook.id)", "delivery_id": "\(id)"])
        return try json(DeliveryResource(delivery), status: .accepted)
    }
}

/// A webhook as the API shows it; the secret only in the answer to its registration.
package struct WebhookResource: Encodable {
    package let id: Int64
    package let url: String
    package let events: [String]
    package let secret: String?
    package let created_at: String

    package init(_ webhook: Webhook, withSecret: Bool) {
        id = webhook.id
        url = webhook.url
        events = webhook.events
        secret = withSecret ? webhook.secret : nil
        created_at = ISO8601.string(from: webhook.createdAt)
    }

    package enum CodingKeys: String, CodingKey { case id, url, events, secret, created_at }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(url, forKey: .url)
        try c.encode(events, forKey: .events)
        if let secret { try c.encode(secret, forKey: .secret) }
        try c.encode(created_at, forKey: .created_at)
    }
}

/// A delivery with each attempt (SPEC §8: status, response code, time).
package struct DeliveryResource: Encodable {
    package struct Attempt: Encodable {
        package let status: String
        package let response_code: Int?
        package let error: String?
        package let time: String
        package let duration_ms: Int

        package init(status: String, response_code: Int?, error: String?, time: String, duration_ms: Int) {
            self.status = status
            self.response_code = response_code
            self.error = error
            self.time = time
            self.duration_ms = duration_ms
        }

        package enum CodingKeys: String, CodingKey { case status, response_code, error, time, duration_ms }

        /// Absent values are written as null: every attempt has the same keys.
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encode(response_code, forKey: .response_code)
            try c.encode(error, forKey: .error)
            try c.encode(time, forKey: .time)
            try c.encode(duration_ms, forKey: .duration_ms)
        }
    }

    package let id: Int64
    package let event_id: Int64
    package let type: String
    package let status: String
    package let next_attempt_at: String?
    package let created_at: String
    package let attempts: [Attempt]

    package init(_ delivery: WebhookDelivery) {
        id = delivery.id
        event_id = delivery.eventId
        type = delivery.eventType
        status = delivery.status.rawValue
        next_attempt_at = delivery.nextAttemptAt.map(ISO8601.string(from:))
        created_at = ISO8601.string(from: delivery.createdAt)
        attempts = delivery.attempts.map {
            Attempt(status: $0.succeeded ? "succeeded" : "failed", response_code: $0.responseCode, error: $0.error,
                    time: ISO8601.string(from: $0.attemptedAt), duration_ms: $0.durationMs)
        }
    }

    package enum CodingKeys: String, CodingKey { case id, event_id, type, status, next_attempt_at, created_at, attempts }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(event_id, forKey: .event_id)
        try c.encode(type, forKey: .type)
        try c.encode(status, forKey: .status)
        try c.encode(next_attempt_at, forKey: .next_attempt_at)
        try c.encode(created_at, forKey: .created_at)
        try c.encode(attempts, forKey: .attempts)
    }
}
