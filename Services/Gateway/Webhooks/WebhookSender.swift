import AsyncHTTPClient
import Foundation
import GatewayKit
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
/// Each attempt renders the body anew from the event (the media as the event left it), so the signed file URLs in it
/// are fresh even at the 6 h retry; the `webhook-id` stays, so receivers drop repeats. Each attempt also resolves the
/// receiver once and connects to the address it checked (`WebhookAddressPolicy.resolve`).
package struct WebhookSender: Service {
    package let store: any WebhookStore
    package let log: any MediaEventLog
    package let links: MediaLinks
    package let policy: WebhookAddressPolicy
    package let settings: WebhookSettings
    package let logger: Logger

    private func attemptsCounter(_ outcome: String) -> Counter {
        Counter(label: "mediaflow_webhook_attempts_total", dimensions: [("outcome", outcome)])
    }

    package init(store: any WebhookStore, log: any MediaEventLog, links: MediaLinks, policy: WebhookAddressPolicy,
         settings: WebhookSettings, logger: Logger) {
        self.store = store
        self.log = log
        self.links = links
        self.policy = policy
        self.settings = settings
        self.logger = logger
    }

    package func run() async throws {
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
                            group.addTask { await send(delivery) }
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
    }

    /// One attempt: body, one lookup of the receiver checked and pinned, signed POST to that address, then the attempt
    /// and its outcome recorded.
    package func send(_ delivery: ClaimedDelivery) async {
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
            let target = try await policy.resolve(url)
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
            let status = try await post(request, to: target)
            code = Int(status.code)
            if !(200..<300).contains(status.code) { failure = "answered \(status.code)" }
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

    /// Posts on a client of this attempt's own whose only name is the checked address: AsyncHTTPClient connects to
    /// `dnsOverride`'s address without a lookup, while the `Host` header, TLS's server name and the certificate check
    /// keep the URL's host. No redirect is followed (a 3xx is the answer).
    private func post(_ request: HTTPClientRequest, to target: WebhookAddressPolicy.PinnedTarget) async throws -> HTTPResponseStatus {
        let seconds = settings.timeout.components.seconds
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(seconds), read: .seconds(seconds)))
        if !target.isLiteral { configuration.dnsOverride = [target.host: target.addressText] }
        return try await HTTPClient.withHTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration) { client in
            let response = try await client.execute(request, timeout: .seconds(seconds))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return response.status
        }
    }

    /// `{type, timestamp, data}` of the delivery's event, rendered now (file URLs signed from now).
    package func body(of delivery: ClaimedDelivery) async throws -> String {
        guard let record = try await log.events(ids: [delivery.eventId]).first else {
            throw DeliveryProblem(description: "the event \(delivery.eventId) is no longer in the log")
        }
        return MediaEventPayload.webhookBody(record, links: links)
    }
}

/// Why an attempt could not be made (not the receiver's answer, not the address policy).
package struct DeliveryProblem: Error, CustomStringConvertible {
    package let description: String
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
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
