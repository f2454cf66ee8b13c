import Foundation

/// A user's subscription (SPEC §8): where to post which media events, signed with `secret`.
public struct Webhook: Sendable, Equatable {
    public var id: Int64
    public var userId: Int64
    public var url: String
    public var events: [String]
    /// `whsec_<base64>` (Standard Webhooks); shown to the user once, at registration.
    public var secret: String
    public var createdAt: Date

    public init(id: Int64, userId: Int64, url: String, events: [String], secret: String, createdAt: Date) {
        self.id = id
        self.userId = userId
        self.url = url
        self.events = events
        self.secret = secret
        self.createdAt = createdAt
    }
}

public enum WebhookDeliveryStatus: String, Sendable {
    /// Not sent yet, or to be retried at `nextAttemptAt`.
    case pending
    case succeeded
    /// Every retry of the schedule failed (a redelivery makes it pending again).
    case failed
}

/// One try to post a delivery.
public struct WebhookAttempt: Sendable, Equatable {
    public var attemptedAt: Date
    public var succeeded: Bool
    /// The receiver's status code; nil when it did not answer (refused, timed out, address not allowed).
    public var responseCode: Int?
    public var error: String?
    public var durationMs: Int

    public init(attemptedAt: Date, succeeded: Bool, responseCode: Int?, error: String?, durationMs: Int) {
        self.attemptedAt = attemptedAt
        self.succeeded = succeeded
        self.responseCode = responseCode
        self.error = error
        self.durationMs = durationMs
    }
}

/// One event for one webhook, with every attempt made to post it.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: Int64
    public var webhookId: Int64
    public var eventId: Int64
    public var eventType: String
    public var status: WebhookDeliveryStatus
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var attempts: [WebhookAttempt]

    public init(id: Int64, webhookId: Int64, eventId: Int64, eventType: String, status: WebhookDeliveryStatus,
                nextAttemptAt: Date?, createdAt: Date, attempts: [WebhookAttempt]) {
        self.id = id
        self.webhookId = webhookId
        self.eventId = eventId
        self.eventType = eventType
        self.status = status
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.attempts = attempts
    }
}

/// A due delivery a sender holds for a while (`claimDue`): what it needs to post it.
public struct ClaimedDelivery: Sendable, Equatable {
    public var id: Int64
    /// This claim: an attempt is recorded against the delivery only while the claim holds (a redelivery or another
    /// sender's claim after this one lapsed makes it stale).
    public var claim: UUID
    public var eventId: Int64
    public var eventType: String
    /// Failed attempts since the delivery was made (or redelivered): picks the next wait of the retry schedule.
    public var failures: Int
    public var url: String
    public var secret: String

    public init(id: Int64, claim: UUID, eventId: Int64, eventType: String, failures: Int, url: String, secret: String) {
        self.id = id
        self.claim = claim
        self.eventId = eventId
        self.eventType = eventType
        self.failures = failures
        self.url = url
        self.secret = secret
    }
}

/// The user already has as many webhooks as one may (SPEC §10).
public struct TooManyWebhooks: Error, Equatable {
    public let limit: Int

    public init(limit: Int) { self.limit = limit }
}

/// What comes of an attempt for the delivery.
public enum DeliveryOutcome: Sendable, Equatable {
    case succeeded
    case retry(after: Duration)
    case failed
}

/// Webhooks and their deliveries. Deliveries are made where events are recorded (migration 10's trigger), so this
/// store only reads, claims and records them.
public protocol WebhookStore: Sendable {
    /// Registers a webhook unless the user already has `limit` (SPEC §10: 20), counted under a per-user lock so that
    /// concurrent registrations on any Gateway never pass it; throws `TooManyWebhooks` then.
    func createWebhook(userId: Int64, url: String, events: [String], secret: String, limit: Int) async throws -> Webhook
    func webhooks(userId: Int64) async throws -> [Webhook]
    func webhook(id: Int64, userId: Int64) async throws -> Webhook?
    /// Deletes the webhook with its deliveries; false when the user has no such webhook.
    func deleteWebhook(id: Int64, userId: Int64) async throws -> Bool
    /// A webhook's deliveries, newest first, with their attempts, and how many there are in all.
    func deliveries(webhookId: Int64, offset: Int, limit: Int) async throws -> (count: Int, deliveries: [WebhookDelivery])
    /// Makes a delivery of this webhook due now with a fresh retry schedule; nil when there is no such delivery.
    func redeliver(deliveryId: Int64, webhookId: Int64) async throws -> WebhookDelivery?
    /// Takes up to `limit` due deliveries for `lease`: no other sender takes them meanwhile, and a sender that dies
    /// holding them lets them go when the lease ends.
    func claimDue(limit: Int, lease: Duration) async throws -> [ClaimedDelivery]
    /// Records an attempt (while the delivery exists) and, if `claim` still holds, what follows from it, releasing the
    /// claim. Returns whether the claim held.
    @discardableResult
    func record(deliveryId: Int64, claim: UUID, attempt: WebhookAttempt, outcome: DeliveryOutcome) async throws -> Bool
    /// Seconds until the next delivery falls due (nil when none is pending): how long an idle sender may sleep.
    func secondsUntilNextDue() async throws -> Double?
}
