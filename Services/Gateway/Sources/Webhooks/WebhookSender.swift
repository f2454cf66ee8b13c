import AsyncHTTPClient
import Foundation
import Logging
import MediaDomain
import Metrics
import NIOCore
import NIOHTTP1
import Persistence
import ServiceLifecycle

/// Posts webhook deliveries (SPEC §8). Runs in every Gateway: each claims due deliveries from PostgreSQL for a lease
/// (`FOR UPDATE SKIP LOCKED`), so several share the work and a sender that dies lets its deliveries go to another
/// (or to itself, restarted) when the lease ends. Deliveries are rows made with the event they carry, so they are
/// sent at least once: a receiver should drop a `webhook-id` it has seen.
///
/// The body is rendered at the first attempt (the media as it is then) and stored: every retry and redelivery posts the
/// same bytes under the same `webhook-id`, signed afresh with the attempt's time.
struct WebhookSender: Service {
    let store: any WebhookStore
    let log: any MediaEventLog
    let links: MediaLinks
    let policy: WebhookAddressPolicy
    let settings: WebhookSettings
    let logger: Logger

    private func attemptsCounter(_ outcome: String) -> Counter {
        Counter(label: "mediaflow_webhook_attempts_total", dimensions: [("outcome", outcome)])
    }

    init(store: any WebhookStore, log: any MediaEventLog, links: MediaLinks, policy: WebhookAddressPolicy,
         settings: WebhookSettings, logger: Logger) {
        self.store = store
        self.log = log
        self.links = links
        self.policy = policy
        self.settings = settings
        self.logger = logger
    }

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(settings.timeout.components.seconds), read: .seconds(settings.timeout.components.seconds))))
        await cancelWhenGracefulShutdown {
            var delay = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    let claimed = try await store.claimDue(limit: 16, lease: settings.timeout * 2 + .seconds(20))
                    delay = .milliseconds(100)
                    if claimed.isEmpty {
                        let due = try await store.secondsUntilNextDue()
                        let wait = due.map { min(max($0, 0.05), settings.pollInterval.seconds) } ?? settings.pollInterval.seconds
                        try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                        continue
                    }
                    await withTaskGroup(of: Void.self) { group in
                        for delivery in claimed {
                            group.addTask { await send(delivery, client: client) }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("webhooks: could not read due deliveries; trying again", metadata: [
                        "error": "\(DatabaseFailure.describe(error))", "retry_in": "\(delay)",
                    ])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(5))
                }
            }
        }
        try? await client.shutdown()
    }

    /// One attempt: body (rendered once), address check, signed POST, then the attempt and its outcome recorded.
    func send(_ delivery: ClaimedDelivery, client: HTTPClient) async {
        var metadata: Logger.Metadata = [
            "delivery_id": "\(delivery.id)", "event_id": "\(delivery.eventId)", "type": "\(delivery.eventType)",
            "url": "\(delivery.url)", "attempt": "\(delivery.failures + 1)",
        ]
        let started = ContinuousClock.now
        let attemptedAt = Date()
        var code: Int?
        var failure: String?
        do {
            let body = try await body(of: delivery)
            let url = try policy.parse(delivery.url)
            try await policy.check(url)
            let id = "msg_\(delivery.id)"
            let timestamp = Int64(Date().timeIntervalSince1970)
            guard let signature = WebhookSignature.sign(secret: delivery.secret, id: id, timestamp: timestamp, body: body) else {
                throw DeliveryProblem(description: "the webhook's secret is not a whsec_ secret")
            }
            var request = HTTPClientRequest(url: delivery.url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: "Mediaflow-Webhooks/1")
            request.headers.add(name: "webhook-id", value: id)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            request.headers.add(name: "webhook-signature", value: signature)
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(settings.timeout.components.seconds))
            code = Int(response.status.code)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if !(200..<300).contains(response.status.code) { failure = "answered \(response.status.code)" }
        } catch let refusal as WebhookAddressPolicy.Refusal {
            failure = refusal.description
        } catch let problem as DeliveryProblem {
            failure = problem.description
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            failure = "no answer within \(settings.timeout)"
        } catch {
            failure = "\(error)"
        }
        // Stopped mid-attempt (shutdown) without an answer: nothing is recorded, the claim lapses and the attempt is
        // made again. An answer that came is recorded.
        if Task.isCancelled && failure != nil { return }
        let ms = Int(started.duration(to: .now).milliseconds)
        let outcome: DeliveryOutcome = if failure == nil {
            .succeeded
        } else if delivery.failures < settings.retrySchedule.count {
            .retry(after: settings.retrySchedule[delivery.failures])
        } else {
            .failed
        }
        metadata["response_code"] = code.map { "\($0)" } ?? "none"
        metadata["duration_ms"] = "\(ms)"
        switch outcome {
        case .succeeded:
            logger.info("webhook delivered", metadata: metadata)
            attemptsCounter("succeeded").increment()
        case .retry(let after):
            metadata["error"] = "\(failure ?? "")"
            metadata["retry_in"] = "\(after)"
            logger.warning("webhook attempt failed; will retry", metadata: metadata)
            attemptsCounter("retry").increment()
        case .failed:
            metadata["error"] = "\(failure ?? "")"
            logger.error("webhook delivery failed: every retry was used", metadata: metadata)
            attemptsCounter("failed").increment()
        }
        do {
            let held = try await store.record(
                deliveryId: delivery.id, claim: delivery.claim,
                attempt: WebhookAttempt(attemptedAt: attemptedAt, succeeded: failure == nil, responseCode: code,
                                        error: failure, durationMs: ms),
                outcome: outcome)
            if !held {
                logger.info(
                    "webhooks: the delivery was redelivered, deleted or claimed again during this attempt; its outcome is left to that",
                    metadata: metadata)
            }
        } catch {
            // The claim lapses and the delivery is sent again: at least once, never lost.
            logger.error("webhooks: could not record an attempt; the delivery will be sent again when its claim lapses",
                         metadata: metadata.merging(["error": "\(DatabaseFailure.describe(error))"]) { $1 })
        }
    }

    /// The stored body, or the event rendered now and stored: `{type, timestamp, data}`.
    func body(of delivery: ClaimedDelivery) async throws -> String {
        if let body = delivery.body { return body }
        guard let record = try await log.events(ids: [delivery.eventId]).first else {
            throw DeliveryProblem(description: "the event \(delivery.eventId) is no longer in the log")
        }
        let body = MediaEventPayload.webhookBody(record, links: links)
        try await store.setBody(deliveryId: delivery.id, body: body)
        return body
    }
}

/// Why an attempt could not be made (not the receiver's answer, not the address policy).
struct DeliveryProblem: Error, CustomStringConvertible {
    let description: String
}

/// What `MEDIA_WEBHOOK_*` set (SPEC §8's defaults).
public struct WebhookSettings: Sendable {
    /// Waits before the retries after a failed attempt; the delivery fails after the last.
    public var retrySchedule: [Duration]
    /// How long a receiver has to answer.
    public var timeout: Duration
    /// Private, loopback and link-local receivers allowed (development and tests only).
    public var allowPrivate: Bool
    /// How often an idle sender looks for due deliveries.
    public var pollInterval: Duration

    public init(retrySchedule: [Duration] = [.seconds(5), .seconds(60), .seconds(600), .seconds(3600), .seconds(6 * 3600)],
                timeout: Duration = .seconds(10), allowPrivate: Bool = false, pollInterval: Duration = .milliseconds(500)) {
        self.retrySchedule = retrySchedule
        self.timeout = timeout
        self.allowPrivate = allowPrivate
        self.pollInterval = pollInterval
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
