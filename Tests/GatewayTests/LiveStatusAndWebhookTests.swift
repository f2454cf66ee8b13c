import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import MediaDomain
import Persistence
import Synchronization
import Testing

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

/// Live status and webhooks in memory (SPEC §8): what the end-to-end tests do not go through — every refusal of a
/// registration, the signature against Standard Webhooks' own example, which addresses are internal, tickets used
/// twice, and the hub's fan-out.
@Suite("Live status and webhooks in memory")
struct LiveStatusAndWebhookTests {
    func register(_ client: any TestClientProtocol, _ gateway: TestGateway, user: Int64 = 1, _ body: String) async throws -> TestResponse {
        var headers = gateway.auth(user)
        headers[.contentType] = "application/json"
        return try await client.execute(uri: "/api/webhooks/", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func json(_ response: TestResponse) -> [String: JSONValue] {
        (try? JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))) ?? [:]
    }

    @Test func registrationRefusesWhatCannotBeDeliveredAndHidesTheSecretAfterwards() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            for (body, code) in [
                (#"{"events": ["media.ready"]}"#, "invalid_request"),
                (#"{"url": "https://example.com/h"}"#, "invalid_request"),
                (#"{"url": "https://example.com/h", "events": []}"#, "invalid_request"),
                (#"{"url": "https://example.com/h", "events": ["media.created"]}"#, "invalid_event"),
                (#"{"url": "ftp://example.com/h", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "https://user:pw@example.com/h", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "http://127.0.0.1:9/h", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "http://[::1]:9/h", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "http://169.254.169.254/latest", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "http://10.1.2.3/h", "events": ["media.ready"]}"#, "invalid_url"),
                (#"{"url": "http://localhost:9/h", "events": ["media.ready"]}"#, "invalid_url"),
            ] {
                let response = try await register(client, gateway, body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(json(response)["code"]?.stringValue == code, "\(body): \(json(response))")
            }
            #expect(try await gateway.webhooks.webhooks(userId: 1).isEmpty)
        }
    }

    /// SPEC §10: at most 20 webhooks a user; the 21st is refused with 400 `too_many_webhooks` and stored nowhere, and
    /// deleting one makes room again. Another user's count is their own.
    @Test func theTwentyFirstWebhookIsRefusedUntilOneIsDeleted() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_WEBHOOK_ALLOW_PRIVATE": "true"])
        try await gateway.test { client in
            var ids: [Int64] = []
            for n in 0..<20 {
                let created = try await register(client, gateway, #"{"url": "http://127.0.0.1:9/h\#(n)", "events": ["media.ready"]}"#)
                #expect(created.status == .created, "webhook \(n + 1)")
                ids.append(try #require(json(created)["id"]?.intValue))
            }
            let refused = try await register(client, gateway, #"{"url": "http://127.0.0.1:9/h20", "events": ["media.ready"]}"#)
            #expect(refused.status == .badRequest && json(refused)["code"] == "too_many_webhooks", "\(json(refused))")
            #expect(try await gateway.webhooks.webhooks(userId: 1).count == 20)
            let other = try await register(client, gateway, user: 2, #"{"url": "http://127.0.0.1:9/o", "events": ["media.ready"]}"#)
            #expect(other.status == .created, "another user's webhooks are counted apart")
            #expect(try await client.execute(uri: "/api/webhooks/\(ids[0])/", method: .delete, headers: gateway.auth()).status == .noContent)
            let again = try await register(client, gateway, #"{"url": "http://127.0.0.1:9/h20", "events": ["media.ready"]}"#)
            #expect(again.status == .created, "room again after a delete")
        }
    }

    @Test func aWebhookIsTheOwnersAndItsDeliveriesCanBeAskedForAgain() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_WEBHOOK_ALLOW_PRIVATE": "true"])
        try await gateway.test { client in
            let created = try await register(client, gateway, #"{"url": "http://127.0.0.1:9/h", "events": ["media.ready", "media.ready", "media.failed"]}"#)
            #expect(created.status == .created)
            let body = json(created)
            let id = try #require(body["id"]?.intValue)
            #expect(body["secret"]?.stringValue?.hasPrefix("whsec_") == true)
            #expect(body["events"] == .array(["media.ready", "media.failed"]), "duplicates dropped: \(body)")

            let detail = try await client.execute(uri: "/api/webhooks/\(id)/", method: .get, headers: gateway.auth())
            #expect(detail.status == .ok && json(detail)["secret"] == nil && json(detail)["url"] == "http://127.0.0.1:9/h")
            #expect(try await client.execute(uri: "/api/webhooks/\(id)/", method: .get, headers: gateway.auth(2)).status == .notFound)
            #expect(try await client.execute(uri: "/api/webhooks/\(id)/deliveries/", method: .get, headers: gateway.auth(2)).status == .notFound)
            let list = try await client.execute(uri: "/api/webhooks/", method: .get, headers: gateway.auth())
            #expect(json(list)["count"]?.intValue == 1)

            // An event of the user's asked-for type makes a delivery; another type or user's does not.
            gateway.webhooks.fanOut(gateway.events.append(userId: 1, mediaId: 5, type: "media.ready"))
            gateway.webhooks.fanOut(gateway.events.append(userId: 1, mediaId: 5, type: "media.progress", percent: 10))
            gateway.webhooks.fanOut(gateway.events.append(userId: 2, mediaId: 6, type: "media.ready"))
            let deliveries = try await client.execute(uri: "/api/webhooks/\(id)/deliveries/", method: .get, headers: gateway.auth())
            let page = json(deliveries)
            #expect(page["count"]?.intValue == 1, "\(page)")
            guard case .array(let results)? = page["results"], let first = results.first else { Issue.record("\(page)"); return }
            #expect(first["type"] == "media.ready" && first["status"] == "pending" && first["attempts"] == .array([]))
            let deliveryId = try #require(first["id"]?.intValue)

            // It failed every time: asked for again, it is due now with a fresh schedule.
            let claim = try #require(try await gateway.webhooks.claimDue(limit: 10, lease: .seconds(30)).first?.claim)
            try await gateway.webhooks.record(deliveryId: deliveryId, claim: claim, attempt: WebhookAttempt(
                attemptedAt: Date(), succeeded: false, responseCode: 500, error: "answered 500", durationMs: 3), outcome: .failed)
            let again = try await client.execute(
                uri: "/api/webhooks/\(id)/deliveries/\(deliveryId)/redeliver/", method: .post, headers: gateway.auth())
            #expect(again.status == .accepted)
            #expect(json(again)["status"] == "pending")
            guard case .array(let attempts)? = json(again)["attempts"] else { Issue.record("\(json(again))"); return }
            #expect(attempts.count == 1 && attempts.first?["response_code"]?.intValue == 500, "the attempt log is kept")
            let fresh = try await gateway.webhooks.claimDue(limit: 10, lease: .seconds(30))
            #expect(fresh.map(\.id) == [deliveryId])
            // An attempt under a claim a redelivery replaced is logged, but decides nothing.
            #expect(try await gateway.webhooks.record(deliveryId: deliveryId, claim: claim, attempt: WebhookAttempt(
                attemptedAt: Date(), succeeded: false, responseCode: 502, error: "answered 502", durationMs: 3), outcome: .failed) == false)
            #expect(try await gateway.webhooks.deliveries(webhookId: id, offset: 0, limit: 5).deliveries.first?.status == .pending)
            #expect(try await client.execute(
                uri: "/api/webhooks/\(id)/deliveries/999/redeliver/", method: .post, headers: gateway.auth()).status == .notFound)

            #expect(try await client.execute(uri: "/api/webhooks/\(id)/", method: .delete, headers: gateway.auth(2)).status == .notFound)
            #expect(try await client.execute(uri: "/api/webhooks/\(id)/", method: .delete, headers: gateway.auth()).status == .noContent)
            #expect(try await client.execute(uri: "/api/webhooks/\(id)/", method: .get, headers: gateway.auth()).status == .notFound)
        }
    }

    /// The example of the Standard Webhooks specification (and its reference libraries' tests).
    @Test func signaturesAreStandardWebhooks() {
        let signature = WebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330,
            body: #"{"test": 2432232314}"#)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSignature.sign(secret: "not-a-secret", id: "a", timestamp: 1, body: "") == nil)
        let secret = WebhookSignature.newSecret()
        #expect(secret.hasPrefix("whsec_") && Data(base64Encoded: String(secret.dropFirst(6)))?.count == 24)
    }

    @Test func internalAddressesAreKnown() {
        for address: [UInt8] in [[127, 0, 0, 1], [10, 0, 0, 1], [172, 16, 0, 1], [172, 31, 255, 255], [192, 168, 1, 1],
                                 [169, 254, 169, 254], [100, 64, 0, 1], [0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255]] {
            #expect(WebhookAddressPolicy.isInternal(address), "\(address)")
        }
        for address: [UInt8] in [[93, 184, 216, 34], [172, 32, 0, 1], [100, 128, 0, 1], [8, 8, 8, 8], [192, 169, 0, 1]] {
            #expect(!WebhookAddressPolicy.isInternal(address), "\(address)")
        }
        let loopback6: [UInt8] = Array(repeating: 0, count: 15) + [1]
        let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1]
        let mappedPublic: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff, 8, 8, 8, 8]
        let uniqueLocal: [UInt8] = [0xfd, 0x12] + Array(repeating: 0, count: 14)
        let linkLocal: [UInt8] = [0xfe, 0x80] + Array(repeating: 0, count: 14)
        let global: [UInt8] = [0x26, 0x06, 0x47, 0x00] + Array(repeating: 0, count: 11) + [1]
        #expect(WebhookAddressPolicy.isInternal(loopback6) && WebhookAddressPolicy.isInternal(mapped))
        #expect(WebhookAddressPolicy.isInternal(uniqueLocal) && WebhookAddressPolicy.isInternal(linkLocal))
        #expect(!WebhookAddressPolicy.isInternal(mappedPublic) && !WebhookAddressPolicy.isInternal(global))
        let nat64: [UInt8] = [0x00, 0x64, 0xff, 0x9b] + Array(repeating: 0, count: 8) + [10, 0, 0, 1]
        let sixToFour: [UInt8] = [0x20, 0x02, 192, 168, 0, 1] + Array(repeating: 0, count: 10)
        let sixToFourPublic: [UInt8] = [0x20, 0x02, 8, 8, 8, 8] + Array(repeating: 0, count: 10)
        #expect(WebhookAddressPolicy.isInternal(nat64) && WebhookAddressPolicy.isInternal(sixToFour))
        #expect(!WebhookAddressPolicy.isInternal(sixToFourPublic))
        // Teredo (2001::/32) tunnels to any IPv4 address; site-local (fec0::/10) is a private range.
        let teredo: [UInt8] = [0x20, 0x01, 0x00, 0x00, 0x4a, 0x7d] + Array(repeating: 0, count: 10)
        let siteLocal: [UInt8] = [0xfe, 0xc0] + Array(repeating: 0, count: 13) + [1]
        let google6: [UInt8] = [0x20, 0x01, 0x48, 0x60] + Array(repeating: 0, count: 10) + [0x88, 0x88]
        #expect(WebhookAddressPolicy.isInternal(teredo) && WebhookAddressPolicy.isInternal(siteLocal))
        #expect(!WebhookAddressPolicy.isInternal(google6), "2001:4860:: is not Teredo")
    }

    @Test func aStreamNeedsCredentialsAndATicketWorksOnce() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            let none = try await client.execute(uri: "/api/media/events/", method: .get)
            #expect(none.status == .unauthorized && json(none)["code"] == "not_authenticated")
            let unknown = try await client.execute(uri: "/api/media/events/?ticket=nope", method: .get)
            #expect(unknown.status == .unauthorized && json(unknown)["code"] == "ticket_invalid")
            #expect(try await client.execute(uri: "/api/media/events/ticket/", method: .post).status == .unauthorized)
            let issued = try await client.execute(uri: "/api/media/events/ticket/", method: .post, headers: gateway.auth(7))
            #expect(issued.status == .created && json(issued)["expires_in"]?.intValue == 60)
            let ticket = try #require(json(issued)["ticket"]?.stringValue)
            #expect(ticket.count == 64 && ticket.allSatisfy(\.isHexDigit), "\(ticket)")
            #expect(try await gateway.tickets.redeem(ticket)?.userId == 7)
            #expect(try await gateway.tickets.redeem(ticket) == nil, "used once")
            var bad = gateway.auth()
            bad[HTTPField.Name("Last-Event-ID")!] = "yesterday"
            let refused = try await client.execute(uri: "/api/media/events/", method: .get, headers: bad)
            #expect(refused.status == .badRequest && json(refused)["code"] == "invalid_last_event_id")
        }
    }

    @Test func theHubHandsEachEventToItsUsersStreamsAndClosesOneThatFallsBehind() async throws {
        let hub = MediaEventHub()
        let mine = hub.subscribe(userId: 1), theirs = hub.subscribe(userId: 2), everyone = hub.subscribe(userId: nil)
        #expect(hub.isWatched(userId: 1) && hub.isWatched(userId: 3), "staff watch everyone")
        let event = MediaEventRecord(id: 1, position: 1, userId: 1, mediaId: 9, type: "media.ready", percent: nil, media: nil, createdAt: Date())
        hub.dispatch([event])
        hub.unsubscribe(theirs.id)
        hub.unsubscribe(everyone.id)
        var seen: [Int64] = []
        for await item in everyone.items { if case .event(let r) = item { seen.append(r.id) } }
        #expect(seen == [1])
        var theirsSeen = 0
        for await item in theirs.items { if case .event = item { theirsSeen += 1 } }
        #expect(theirsSeen == 0)
        #expect(!hub.isWatched(userId: 2))

        // A reader that does not read: after the backlog its stream ends (its client resumes from Last-Event-ID).
        hub.dispatch((2...Int64(MediaEventHub.backlog + 5)).map {
            MediaEventRecord(id: $0, position: $0, userId: 1, mediaId: 9, type: "media.progress", percent: 1, media: nil, createdAt: Date())
        })
        var count = 0
        for await _ in mine.items { count += 1 }
        #expect(count == MediaEventHub.backlog, "the stream ended after its backlog")
        hub.unsubscribe(mine.id)
        #expect(hub.streamCount == 0)
    }

    @Test func theListenerTellsARepeatFromALateEvent() {
        var handed = HandedPositions(last: 9)
        handed.add(10)
        handed.add(12)
        #expect(handed.last == 12 && handed.contains(10) && !handed.contains(11))
        #expect(handed.start == 9, "positions up to where listening began are history, never late")
        for position in Int64(13)...Int64(13 + HandedPositions.remembered * 3) { handed.add(position) }
        #expect(handed.contains(handed.last) && !handed.contains(13), "only the recent positions are remembered")
    }

    @Test func aStreamEndsWhenItsTokenExpires() async throws {
        let hub = MediaEventHub()
        let now = Date()
        let expiring = hub.subscribe(userId: 1, expiresAt: now.addingTimeInterval(5))
        let lasting = hub.subscribe(userId: 1, expiresAt: now.addingTimeInterval(3600))
        hub.endExpired(now: now.addingTimeInterval(4))
        hub.dispatch([MediaEventRecord(id: 1, position: 1, userId: 1, mediaId: 9, type: "media.ready", percent: nil,
                                       media: nil, createdAt: now)])
        hub.endExpired(now: now.addingTimeInterval(6))
        var items: [String] = []
        for await item in expiring.items {
            switch item {
            case .event(let record): items.append("event \(record.position)")
            case .end(let reason): items.append("end \(reason)")
            case .keepAlive: items.append("keep-alive")
            }
        }
        #expect(items == ["event 1", "end token_expired"], "the stream got the event, then its end, then closed")
        hub.unsubscribe(expiring.id)
        hub.unsubscribe(lasting.id)
        var lastingEnded = false
        for await item in lasting.items { if case .end = item { lastingEnded = true } }
        #expect(!lastingEnded)
    }
}

/// Webhook attempts against a resolver the test controls (SPEC §10, issue 27 defect 3): one lookup per attempt, and the
/// connection goes to the address that lookup gave and was checked, never to a second answer.
@Suite("Webhook targets are resolved once and pinned")
struct WebhookPinningTests {
    /// A receiver on loopback that records the `Host` header of each request.
    func withReceiver(_ body: @Sendable (Int, Captured<[String]>) async throws -> Void) async throws {
        let hosts = Captured<[String]>([])
        let port = Mutex<Int?>(nil)
        let router = Router()
        router.post("h") { request, _ -> HTTPResponse.Status in
            hosts.update { $0.append(request.head.authority ?? "") }
            return .ok
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                bound = port.withLock { $0 }
                if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await body(try #require(bound), hosts)
            group.cancelAll()
        }
    }

    func sender(_ resolver: FixedWebhookTargetResolver, allowPrivate: Bool, store: MemoryWebhookStore,
                log: MemoryMediaEventLog) -> WebhookSender {
        WebhookSender(
            store: store, log: log,
            links: MediaLinks(baseURL: "http://media.test", signer: URLSigner(secret: "s", lifetime: .seconds(60))),
            policy: WebhookAddressPolicy(allowPrivate: allowPrivate, resolver: resolver),
            settings: WebhookSettings(retrySchedule: [.seconds(60)], timeout: .seconds(2), allowPrivate: allowPrivate),
            logger: Logger(label: "test"))
    }

    func deliver(_ url: String, with sender: WebhookSender, store: MemoryWebhookStore, log: MemoryMediaEventLog)
        async throws -> WebhookDelivery
    {
        let hook = try await store.createWebhook(userId: 1, url: url, events: ["media.ready"], secret: WebhookSignature.newSecret(), limit: 20)
        store.fanOut(log.append(userId: 1, mediaId: 9, type: "media.ready"))
        let claimed = try #require(try await store.claimDue(limit: 10, lease: .seconds(60)).first)
        await sender.send(claimed)
        return try #require(try await store.deliveries(webhookId: hook.id, offset: 0, limit: 10).deliveries.first)
    }

    @Test func theAttemptConnectsToTheCheckedAddressUnderTheURLsName() async throws {
        try await withReceiver { port, hosts in
            // `receiver.test` exists only in this resolver: the request arrives only if the client connected to the
            // address the sender looked up, not to a lookup of its own.
            let resolver = FixedWebhookTargetResolver(["receiver.test": [["127.0.0.1"]]])
            let store = MemoryWebhookStore(), log = MemoryMediaEventLog()
            let delivery = try await deliver(
                "http://receiver.test:\(port)/h", with: sender(resolver, allowPrivate: true, store: store, log: log),
                store: store, log: log)
            #expect(delivery.status == .succeeded, "\(delivery.attempts)")
            #expect(hosts.value == ["receiver.test:\(port)"], "Host names the URL's host, not the address")
            #expect(resolver.lookups(of: "receiver.test") == 1, "one lookup per attempt")
        }
    }

    /// Issue 27, defect 10: a webhook body is rendered at each attempt, so the retry six hours later carries file URLs
    /// signed from then (before, the body stored at the first attempt carried URLs expired by the time of the retry).
    @Test func aRetryHoursLaterCarriesURLsSignedAtItsOwnAttempt() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let links = MediaLinks(baseURL: "http://media.test", signer: URLSigner(secret: "s", lifetime: .seconds(3600)),
                               now: { clock.withLock { $0 } })
        let store = MemoryWebhookStore(), log = MemoryMediaEventLog()
        let sender = WebhookSender(
            store: store, log: log, links: links,
            policy: WebhookAddressPolicy(allowPrivate: true, resolver: FixedWebhookTargetResolver([:])),
            settings: WebhookSettings(retrySchedule: [.seconds(6 * 3600)], timeout: .seconds(2), allowPrivate: true),
            logger: Logger(label: "test"))
        let media = Media(
            id: 9, userId: 1, username: "u", fileType: .image, status: .ready, fileSize: 10, mimeType: "image/jpeg",
            format: .jpeg, originalFilename: "a.jpg", storageKey: "media/k/original.jpg", isPublic: false,
            createdAt: Date(), updatedAt: Date())
        _ = try await store.createWebhook(userId: 1, url: "http://127.0.0.1:9/h", events: ["media.ready"],
                                          secret: WebhookSignature.newSecret(), limit: 20)
        store.fanOut(log.append(userId: 1, mediaId: 9, type: "media.ready", media: media))
        let claimed = try #require(try await store.claimDue(limit: 10, lease: .seconds(60)).first)
        func expiry(_ body: String) throws -> Int {
            let original = try #require(body.firstRange(of: "original.jpg?exp="), "\(body)")
            return try #require(Int(body[original.upperBound...].prefix { $0.isNumber }), "\(body)")
        }
        let first = try expiry(try await sender.body(of: claimed))
        clock.withLock { $0 = $0.addingTimeInterval(6 * 3600) }
        let retry = try expiry(try await sender.body(of: claimed))
        #expect(first > 1_800_000_000 && first <= 1_800_000_000 + 2 * 3600)
        #expect(retry > 1_800_000_000 + 6 * 3600, "the retry's URL is still valid when it is sent: \(retry)")
    }

    @Test func aNameThatRebindsToLoopbackAfterTheCheckIsNeverConnectedTo() async throws {
        try await withReceiver { port, hosts in
            // The first answer is public (and checked); a second lookup would say 127.0.0.1, where the receiver is.
            let resolver = FixedWebhookTargetResolver(["rebind.test": [["203.0.113.7"], ["127.0.0.1"]]])
            let store = MemoryWebhookStore(), log = MemoryMediaEventLog()
            let delivery = try await deliver(
                "http://rebind.test:\(port)/h", with: sender(resolver, allowPrivate: false, store: store, log: log),
                store: store, log: log)
            #expect(delivery.status == .pending && delivery.attempts.count == 1 && delivery.attempts[0].responseCode == nil)
            #expect(hosts.value.isEmpty, "nothing reached the loopback receiver")
            #expect(resolver.lookups(of: "rebind.test") == 1)
            // The next attempt looks up again, gets loopback, and refuses it without connecting.
            _ = try await store.redeliver(deliveryId: delivery.id, webhookId: delivery.webhookId)
            let again = try #require(try await store.claimDue(limit: 1, lease: .seconds(60)).first)
            await sender(resolver, allowPrivate: false, store: store, log: log).send(again)
            let after = try #require(try await store.deliveries(webhookId: delivery.webhookId, offset: 0, limit: 1).deliveries.first)
            #expect(after.attempts.last?.error?.contains("127.0.0.1") == true, "\(after.attempts)")
            #expect(hosts.value.isEmpty)
        }
    }
}
