import Foundation
import GatewayAdmin
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Messaging
import Operations
import Persistence
import ServiceCore
import ServiceKit
import TestSupport
import Testing
import Tokens

/// The staff API of SPEC §6/§7 over the in-memory store and broker: who may call it, and that it does what it says.
@Suite("Staff API: dead letters, bulk actions, Janitor runs")
struct StaffAPITests {
    func failedMedia(_ gateway: TestGateway, user: Int64 = 1) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: user, username: "user\(user)", format: .jpeg, fileSize: Int64(Samples.jpeg.count),
            originalFilename: "x.jpg", storageKey: key, isPublic: true))
        else { throw CancellationError() }
        let failed = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "decode_failed", message: "x"), attempts: 1)
        _ = try await gateway.repository.apply(.failed(failed), consumer: "t")
        return media
    }

    @Test func onlyStaffMayCallIt() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            for (uri, method) in [("/api/admin/dead-letters/", HTTPRequest.Method.get), ("/api/admin/media/bulk/", .post),
                                  ("/api/admin/janitor/runs/", .get), ("/api/admin/janitor/run/", .post),
                                  ("/api/admin/dead-letters/replay/", .post)] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(uri) without a token")
                }
                try await client.execute(uri: uri, method: method, headers: gateway.auth()) { response in
                    #expect(response.status == .forbidden, "\(uri) with a user's token")
                    let body = try decodeJSON(response.body)
                    #expect(body["code"] == "permission_denied")
                }
            }
        }
    }

    @Test func bulkReprocessDeleteAndVisibility() async throws {
        let gateway = try TestGateway()
        let a = try await failedMedia(gateway, user: 1)
        let b = try await failedMedia(gateway, user: 2)
        try await gateway.test { client in
            try await client.execute(uri: "/api/admin/media/bulk/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"action": "reprocess", "ids": [\#(a.id), \#(b.id), 424242]}"#)) { response in
                #expect(response.status == .ok)
                let body = try decodeJSON(response.body)
                #expect(body["done"] == [.int(a.id), .int(b.id)])
                #expect(body["skipped"] == [["id": .int(424_242), "reason": "not_found"]])
            }
            try await client.execute(uri: "/api/admin/media/bulk/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"action": "reprocess", "ids": [\#(a.id)]}"#)) { response in
                let body = try decodeJSON(response.body)
                #expect(body["skipped"] == [["id": .int(a.id), "reason": "not_failed (processing)"]])
            }
            try await client.execute(uri: "/api/admin/media/bulk/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"action": "make_private", "ids": [\#(b.id)]}"#)) { response in
                let body = try decodeJSON(response.body)
                #expect(body["done"] == [.int(b.id)])
            }
            try await client.execute(uri: "/api/admin/media/bulk/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"action": "delete", "ids": [\#(a.id)]}"#)) { response in
                let body = try decodeJSON(response.body)
                #expect(body["done"] == [.int(a.id)])
            }
            for bad in [#"{"action": "explode", "ids": [1]}"#, #"{"action": "delete", "ids": []}"#,
                        #"{"action": "delete", "ids": ["1"]}"#, #"{"action": "delete"}"#, "[]"] {
                try await client.execute(uri: "/api/admin/media/bulk/", method: .post, headers: gateway.staff(),
                                         body: ByteBuffer(string: bad)) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
        #expect(try await gateway.repository.find(id: a.id) == nil)
        #expect(gateway.storage.keys.allSatisfy { !$0.hasPrefix(StorageKeys.mediaPrefix(ofOriginal: a.storageKey)) })
        #expect(try await gateway.repository.find(id: b.id)?.isPublic == false)
        #expect(try await gateway.repository.find(id: b.id)?.status == .processing)
    }

    @Test func deadLettersAreListedByGroupAndReplayed() async throws {
        let gateway = try TestGateway()
        try await gateway.broker.declare(MediaTopology.all())
        let media = try await failedMedia(gateway)
        let event = media.uploadedEvent()
        // Parked as the Janitor's recorder records what lands in a dead queue.
        try await gateway.deadLetters.park(DeadLetters.parked(from: IncomingMessage(
            queue: "image-service.dead", exchange: "", routingKey: "image-service.dead",
            body: Array(try EventCoding.encoder().encode(event)), messageId: event.eventId.uuidString.lowercased(),
            type: MediaEvents.uploaded,
            headers: [MessageHeaders.originalExchange: MediaEvents.exchange,
                      MessageHeaders.originalRoutingKey: "media.uploaded.image", MessageHeaders.failureCode: "storage_unavailable",
                      MessageHeaders.failureMessage: "disk", MessageHeaders.attempts: "3",
                      MessageHeaders.firstFailedAt: "2026-11-29T10:00:00Z", MessageHeaders.replays: "0"],
            redelivered: false), queue: "image-service.dead"))
        try await gateway.test { client in
            try await client.execute(uri: "/api/admin/dead-letters/", method: .get, headers: gateway.staff()) { response in
                #expect(response.status == .ok)
                let body = try decodeJSON(response.body)
                #expect(body["count"]?.int == 1)
                #expect(body["groups"] == [["queue": "image-service.dead", "code": "storage_unavailable", "count": 1,
                                            "oldest": "2026-11-29T10:00:00.000Z", "newest": "2026-11-29T10:00:00.000Z"]])
                #expect(body["results"]?.array?.first?["media_id"]?.int == media.id)
            }
            try await client.execute(uri: "/api/admin/dead-letters/replay/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .badRequest, "a replay must say what it takes")
            }
            // PostgreSQL's text holds no NUL: such an id was a 500 from the database (schemathesis ST101), now a 400.
            for text in [#"{"event_ids": ["a\u0000b"]}"#, #"{"event_ids": ["ok", 7]}"#, #"{"event_ids": []}"#,
                         #"{"code": "x\u0000"}"#] {
                let (status, code) = try await client.execute(
                    uri: "/api/admin/dead-letters/replay/", method: .post, headers: gateway.staff(), body: ByteBuffer(string: text)
                ) { response in (response.status, try decodeJSON(response.body)["code"]) }
                #expect(status == .badRequest && code == "invalid_request", "\(text)")
            }
            try await client.execute(uri: "/api/admin/dead-letters/replay/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"code": "storage_unavailable", "dry_run": true}"#)) { response in
                let body = try decodeJSON(response.body)
                #expect(body["replayed"]?.int == 1 && body["dry_run"] == true)
            }
            try await client.execute(uri: "/api/admin/dead-letters/replay/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"code": "storage_unavailable"}"#)) { response in
                let body = try decodeJSON(response.body)
                #expect(body["replayed"]?.int == 1 && body["skipped"] == [])
            }
        }
        #expect(gateway.deadLetters.resolutions.map(\.resolution) == ["replayed"])
        #expect(await gateway.broker.messages(in: "image-service").count == 1)
        #expect(try await gateway.repository.find(id: media.id)?.status == .processing)
    }

    /// The staff API never runs a task itself (issue 27, defect 7): it records the run as requested and sends a
    /// janitor.run command, which the acting Janitor takes (here the test plays the Janitor's part).
    @Test func janitorTaskRunsAndItsRecord() async throws {
        let gateway = try TestGateway()
        try await gateway.broker.declare(MediaTopology.all())
        let janitor = Task {
            try await gateway.broker.consume(queue: MediaTopology.janitorCommands, prefetch: 1, drain: nil) { delivery in
                guard let command = JanitorRunCommand(body: delivery.message.body) else { return }
                if (try? await gateway.repository.claimRequestedRun(id: command.runId, instance: "test-janitor")) == true {
                    try? await gateway.repository.finishRun(id: command.runId, counts: ["scanned": 0], error: nil)
                }
                try? await delivery.ack()
            }
        }
        defer { janitor.cancel() }
        // The Gateway waits for a run only while a Janitor listens.
        try #require(await eventually(timeout: .seconds(10), interval: .milliseconds(10)) {
            (try? await gateway.broker.queueStatus(queue: MediaTopology.janitorCommands).consumers) == 1
        })
        try await gateway.test { client in
            try await client.execute(uri: "/api/admin/janitor/run/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"task": "orphan_sweep", "dry_run": true}"#)) { response in
                #expect(response.status == .ok)
                let body = try decodeJSON(response.body)
                #expect(body["task"] == "orphan_sweep" && body["dry_run"] == true && body["trigger"] == "staff:ops")
                #expect(body["state"] == "finished" && body["instance"] == "test-janitor", "run by the Janitor: \(body)")
                #expect(body["counts"]?["scanned"]?.int == 0)
                #expect(body["finished_at"]?.string != nil && body["error"]?.isNull == true)
            }
            try await client.execute(uri: "/api/admin/janitor/run/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"task": "nap"}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/admin/janitor/runs/?task=orphan_sweep", method: .get, headers: gateway.staff()) { response in
                let body = try decodeJSON(response.body)
                #expect(body["results"]?.array?.count == 1)
            }
        }
    }

    /// With no Janitor consuming the commands, the run is recorded and its command queued for the next one, and the
    /// answer (202, `requested`) comes at once: before, the caller was held for the whole wait (3 s) for nothing, and
    /// schemathesis spent 97 of its 135 s there.
    @Test func withNoJanitorListeningTheRunIsQueuedAndAnsweredAtOnce() async throws {
        let gateway = try TestGateway()
        try await gateway.broker.declare(MediaTopology.all())
        try await gateway.test { client in
            let started = ContinuousClock.now
            try await client.execute(uri: "/api/admin/janitor/run/", method: .post, headers: gateway.staff(),
                                     body: ByteBuffer(string: #"{"task": "orphan_sweep"}"#)) { response in
                #expect(response.status == .accepted)
                let body = try decodeJSON(response.body)
                #expect(body["state"] == "requested" && body["task"] == "orphan_sweep", "\(body)")
            }
            #expect(ContinuousClock.now - started < StaffOperationsController.janitorAnswerWait,
                    "answered without waiting for a Janitor that is not there")
        }
        // The command waits in the queue for the next Janitor.
        #expect(try await gateway.broker.messageCount(queue: MediaTopology.janitorCommands) == 1)
    }
}
