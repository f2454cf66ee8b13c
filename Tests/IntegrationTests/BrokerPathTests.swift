import Foundation
import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import Hummingbird
import HummingbirdTesting
import Logging
import MediaDomain
import Messaging
import Persistence
import PostgresNIO
import ServiceCore
import ServiceKit
import Storage
import Synchronization
import Testing
import TestSupport
import Tokens

/// The event path against the real PostgreSQL and RabbitMQ: the outbox under a broker outage and the
/// Gateway's status fold. Serialized: one test stops the broker.
@Suite(
    "Outbox and status fold on real servers", .serialized,
    .enabled(if: TestServers.available && TestServers.env["MEDIA_TEST_RABBITMQ_CTL"] != nil, "needs make test's servers"))
struct BrokerPathTests {
    /// Collects what arrives on a queue until `stop()`.
    final class Probe: Sendable {
        let messages = Mutex<[IncomingMessage]>([])
        func first(where predicate: (IncomingMessage) -> Bool) -> IncomingMessage? {
            messages.withLock { $0.first(where: predicate) }
        }
    }

    func probe(_ broker: RabbitMQBroker, queue: String, routingKey: String) async throws -> (Probe, Task<Void, any Error>) {
        try await broker.declare(MediaTopology.all().merging(BrokerTopology(
            queues: [.init(name: queue, arguments: ["x-expires": .int(120_000)])],
            bindings: [.init(queue: queue, exchange: MediaEvents.exchange, routingKey: routingKey)])))
        let probe = Probe()
        let task = Task {
            try await broker.consume(queue: queue, prefetch: 50) { delivery in
                probe.messages.withLock { $0.append(delivery.message) }
                try? await delivery.ack()
            }
        }
        return (probe, task)
    }

    @Test func uploadWhileBrokerIsDownIsDeliveredAfterRestart() async throws {
        let amqp = try requireConfig(TestServers.amqpURL)
        try await TestServers.withDatabase { _, repository in
            let broker = try RabbitMQBroker(url: amqp, logger: TestServers.logger)
            let (probe, consumer) = try await probe(broker, queue: "itest-outbox-\(UUID().uuidString)", routingKey: "media.uploaded.*")
            defer { consumer.cancel() }

            try await TestServers.control("rabbitmq-stop")
            let storageDir = FileManager.default.temporaryDirectory.appendingPathComponent("itest-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: storageDir) }
            let config = try GatewayConfiguration(environment: Environment([
                "MEDIA_JWT_SECRET": "integration-secret-integration-secret", "MEDIA_STORAGE": "local:\(storageDir)",
            ]))
            let router = buildRouter(configuration: config, dependencies: GatewayDependencies(
                repository: repository, storage: try LocalDiskStorage(root: storageDir)))
            let token = JWTAuthenticator(secret: config.jwtSecret).mint(user: AuthenticatedUser(id: 424242, username: "itest"))
            let boundary = "itest-boundary"
            var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n".utf8)
            body.append(contentsOf: [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 7, count: 500))
            body.append(Data("\r\n--\(boundary)--\r\n".utf8))
            let payload = ByteBuffer(bytes: body)
            let mediaId = try await Application(router: router).test(.router) { client in
                try await client.execute(
                    uri: "/api/media/upload/", method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "multipart/form-data; boundary=\(boundary)"],
                    body: payload
                ) { response -> Int64 in
                    #expect(response.status == .created, "the upload succeeds while the broker is down")
                    let json = try JSONDecoder().decode([String: JSONValue].self, from: Data(response.body.readableBytesView))
                    return try #require(json["id"]?.intValue)
                }
            }
            let relay = OutboxRelay(store: repository, broker: broker, logger: TestServers.logger)
            _ = await relay.drain()
            #expect(try await repository.pendingCount() >= 1, "the event waits in the outbox")

            try await TestServers.control("rabbitmq-start")
            let delivered = await eventually(timeout: .seconds(40)) {
                _ = await relay.drain()
                return probe.first { $0.body.containsSubsequence(Array("\"media_id\":\(mediaId),".utf8)) } != nil
            }
            #expect(delivered, "media.uploaded of media \(mediaId) delivered after the broker came back")
            let message = probe.first { $0.body.containsSubsequence(Array("\"media_id\":\(mediaId),".utf8)) }
            #expect(message?.routingKey == "media.uploaded.image")
            #expect(message?.type == "media.uploaded")
        }
    }

    @Test func redeliveredReadyIsFoldedOnceAndOldGenerationIgnored() async throws {
        let amqp = try requireConfig(TestServers.amqpURL)
        try await TestServers.withDatabase { client, repository in
            let broker = try RabbitMQBroker(url: amqp, logger: TestServers.logger)
            try await broker.declare(MediaTopology.all())
            guard case .created(let media) = try await repository.create(NewMedia(
                userId: 515151, username: "itest", format: .jpeg, fileSize: 10, originalFilename: "a.jpg",
                storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg), isPublic: true))
            else { Issue.record("not created"); return }

            let ready = MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 10, height: 20, duration: nil,
                                   bitrate: nil, metadata: ["format": "jpeg"], processingMs: 42)
            let stale = MediaFailed(mediaId: media.id, generation: 0, error: MediaError(code: "old", message: "old"), attempts: 1)
            func message(_ body: some Encodable, id: UUID, type: String) throws -> OutgoingMessage {
                OutgoingMessage(exchange: MediaEvents.exchange, routingKey: type, body: Array(try EventCoding.encoder().encode(body)),
                                messageId: id.uuidString.lowercased(), type: type)
            }
            // The same event twice (a redelivery as the broker would make it) and an old generation's failure.
            try await broker.publish(try message(ready, id: ready.eventId, type: MediaEvents.ready))
            try await broker.publish(try message(ready, id: ready.eventId, type: MediaEvents.ready))
            try await broker.publish(try message(stale, id: stale.eventId, type: MediaEvents.failed))

            let consumer = Task {
                try await StatusConsumer(broker: broker, repository: repository, logger: TestServers.logger).run()
            }
            defer { consumer.cancel() }
            let folded = try await eventually { try await repository.find(id: media.id)?.status == .ready }
            #expect(folded)
            // Give the duplicate and the stale event time to arrive, then check they changed nothing.
            try await Task.sleep(for: .seconds(1))
            let row = try #require(try await repository.find(id: media.id))
            #expect(row.status == .ready && row.width == 10 && row.height == 20 && row.metadata["processing_ms"] == 42)
            var records = 0
            for try await count in try await client.query(
                "SELECT count(*) FROM processed_events WHERE event_id = \(ready.eventId)").decode(Int.self) { records = count }
            #expect(records == 1, "the event was folded exactly once")
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        for i in 0...(count - needle.count) where self[i..<i + needle.count].elementsEqual(needle) { return true }
        return false
    }
}
