import Foundation
import Logging
import MediaDomain
import Messaging
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Testing

@testable import Operations

@Suite("Dead letters: list and replay")
struct DeadLetterReplayTests {
    let logger = Logger(label: "dead-letter-test")

    /// A dead copy as `RetryingConsumer` parks it.
    func parked(_ event: MediaUploaded, code: String) throws -> OutgoingMessage {
        OutgoingMessage(
            exchange: "", routingKey: "image-service.dead", body: Array(try EventCoding.encoder().encode(event)),
            messageId: event.eventId.uuidString.lowercased(), type: MediaEvents.uploaded,
            headers: [
                MessageHeaders.originalExchange: MediaEvents.exchange,
                MessageHeaders.originalRoutingKey: MediaEvents.uploadedRoutingKey(.image),
                MessageHeaders.originalQueue: "image-service", MessageHeaders.attempt: "3", MessageHeaders.attempts: "3",
                MessageHeaders.failureCode: code, MessageHeaders.failureMessage: "attempts exhausted (3): boom",
                MessageHeaders.firstFailedAt: "2026-11-29T10:00:00Z", MessageHeaders.replays: "0",
            ])
    }

    /// Runs the recorder over `broker`'s dead queues until `store` holds `count` letters (or 10 s passed).
    func record(_ broker: InMemoryBroker, into store: MemoryDeadLetterStore, count: Int) async throws {
        let recorder = Task { try await DeadLetterRecorder(broker: broker, store: store, logger: logger).run() }
        defer { recorder.cancel() }
        let deadline = ContinuousClock.now + .seconds(10)
        while store.resolutions.count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(store.resolutions.count == count, "recorded")
    }

    func failedMedia(_ repository: MemoryMediaRepository) async throws -> Media {
        guard case .created(let media) = try await repository.create(NewMedia(
            userId: 7, username: "u", format: .jpeg, fileSize: 3, originalFilename: "a.jpg",
            storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg), isPublic: true))
        else { throw CancellationError() }
        let failed = MediaFailed(mediaId: media.id, generation: 1, error: MediaError(code: "processing_failed", message: "x"), attempts: 3)
        _ = try await repository.apply(.failed(failed), consumer: "t")
        return media
    }

    @Test func replayRepublishesWhatCanBeDoneAndSkipsDeletedAndSupersededMedia() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(MediaTopology.all())
        let repository = MemoryMediaRepository()
        let waiting = try await failedMedia(repository)
        let superseded = try await failedMedia(repository)
        _ = try await repository.reprocess(id: superseded.id)  // now generation 2
        let deletedEvent = MediaUploaded(
            mediaId: 999_999, generation: 1, userId: 7, fileType: .image, format: .jpeg, mimeType: "image/jpeg",
            storageKey: "media/gone/original.jpg", fileSize: 3)
        let waitingEvent = waiting.uploadedEvent()
        for (event, code) in [(waitingEvent, "storage_unavailable"), (superseded.uploadedEvent(), "storage_unavailable"),
                              (deletedEvent, "processing_error")] {
            try await broker.publish(try parked(event, code: code))
        }
        let store = MemoryDeadLetterStore()
        try await record(broker, into: store, count: 3)
        #expect(await broker.messages(in: "image-service.dead").isEmpty, "recorded, the queue holds them no more")
        let deadLetters = DeadLetters(store: store, broker: broker, media: repository, operations: repository, logger: logger)

        let listed = try await deadLetters.list(DeadLetterSelection())
        #expect(listed.count == 3 && listed.letters.count == 3)
        let groups = try await deadLetters.groups()
        #expect(groups.map { "\($0.queue) \($0.code) \($0.count)" } ==
                ["image-service.dead processing_error 1", "image-service.dead storage_unavailable 2"])
        #expect(groups.first?.oldest == Date(timeIntervalSince1970: 1_795_946_400))
        #expect(try await deadLetters.list(DeadLetterSelection()).count == 3, "listing takes nothing away")

        let dry = try await deadLetters.replay(DeadLetterSelection(all: true), dryRun: true)
        #expect(dry.replayed.count == 1 && dry.skipped.count == 2)
        #expect(try await deadLetters.list(DeadLetterSelection()).count == 3, "a dry run settles nothing")
        #expect(try await repository.find(id: waiting.id)?.status == .failed)

        let report = try await deadLetters.replay(DeadLetterSelection(queue: "image-service", all: true), dryRun: false)
        #expect(report.replayed == [waitingEvent.eventId.uuidString.lowercased()])
        #expect(Set(report.skipped.map(\.reason)) == ["superseded", "media_deleted"])
        #expect(try await deadLetters.list(DeadLetterSelection()).count == 0, "replayed and skipped letters are resolved")
        #expect(Set(store.resolutions.compactMap(\.resolution)) == ["replayed", "skipped: superseded", "skipped: media_deleted"])
        let back = try #require(await broker.messages(in: "image-service").first)
        #expect(back.routingKey == MediaEvents.uploadedRoutingKey(.image) && back.exchange == MediaEvents.exchange)
        #expect(back.headers[MessageHeaders.attempt] == nil, "a fresh attempt count")
        #expect(back.headers[MessageHeaders.replays] == "1")
        #expect(back.headers[MessageHeaders.failureCode] == nil && back.headers[MessageHeaders.firstFailedAt] == nil)
        let event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(back.body))
        #expect(event.mediaId == waiting.id && event.generation == 1)
        #expect(try await repository.find(id: waiting.id)?.status == .processing, "back to processing, same generation")
        #expect(try await repository.find(id: waiting.id)?.generation == 1)
    }

    @Test func selectionByCodeAndEventIdLeavesTheRestParked() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(MediaTopology.all())
        let repository = MemoryMediaRepository()
        let a = try await failedMedia(repository)
        let b = try await failedMedia(repository)
        try await broker.publish(try parked(a.uploadedEvent(), code: "storage_unavailable"))
        try await broker.publish(try parked(b.uploadedEvent(), code: "processing_error"))
        let store = MemoryDeadLetterStore()
        try await record(broker, into: store, count: 2)
        let deadLetters = DeadLetters(store: store, broker: broker, media: repository, operations: repository, logger: logger)
        let report = try await deadLetters.replay(DeadLetterSelection(code: "processing_error"), dryRun: false)
        #expect(report.replayed.count == 1)
        #expect(try await deadLetters.list(DeadLetterSelection()).letters.map(\.code) == ["storage_unavailable"])
        #expect(try await repository.find(id: b.id)?.status == .processing)
        #expect(try await repository.find(id: a.id)?.status == .failed)
        #expect(throws: OperationsError.self) { try DeadLetters.normalized(DeadLetterSelection(queue: "nope")) }
        #expect(DeadLetterSelection().isEmpty && !DeadLetterSelection(all: true).isEmpty)
    }

    @Test func aReplayWhosePublishFailsKeepsTheDeadCopyAndTheMediaFailed() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(MediaTopology.all())
        let repository = MemoryMediaRepository()
        let media = try await failedMedia(repository)
        try await broker.publish(try parked(media.uploadedEvent(), code: "storage_unavailable"))
        let store = MemoryDeadLetterStore()
        try await record(broker, into: store, count: 1)
        await broker.failPublishes { $0.routingKey == MediaEvents.uploadedRoutingKey(.image) }
        let deadLetters = DeadLetters(store: store, broker: broker, media: repository, operations: repository, logger: logger)
        let report = try await deadLetters.replay(DeadLetterSelection(all: true), dryRun: false)
        #expect(report.replayed.isEmpty)
        #expect(report.skipped.first?.reason.hasPrefix("publish_failed") == true)
        #expect(try await deadLetters.list(DeadLetterSelection()).count == 1, "the letter stays for the next replay")
        let after = try #require(try await repository.find(id: media.id))
        #expect(after.status == .failed && after.metadata["error"]?["code"] == "processing_failed", "failed, as it was")
    }
}
