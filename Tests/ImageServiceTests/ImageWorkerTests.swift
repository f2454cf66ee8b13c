import Foundation
import ImageService
import Imaging
import MediaDomain
import Messaging
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Testing
import TestSupport

/// The shared processing worker driving the real libvips processor, with the in-memory broker, storage
/// and inbox: what ImageService does with one `media.uploaded`, end to end inside the process.
@Suite("ImageService worker")
struct ImageWorkerTests {
    let broker = InMemoryBroker()
    let storage = MemoryStorage()
    let inbox = MemoryMediaRepository()
    let jobs = MemoryJobLedger()
    static let pool = BlockingWorkPool(threads: 2, name: "test-vips")

    func worker(maxPixels: Int64 = 100_000_000, jobTimeout: Duration = .seconds(600),
                drainTimeout: Duration = .seconds(30), heartbeat: Duration = .seconds(30),
                avif: Bool = true) async throws -> ProcessingWorker {
        try await broker.declare(MediaTopology.all())
        return ProcessingWorker(
            processor: ImageProcessor(pool: Self.pool, maxPixels: maxPixels, avif: avif), broker: broker, storage: storage,
            inbox: inbox, jobs: jobs,
            options: .init(concurrency: 1, jobTimeout: jobTimeout, drainTimeout: drainTimeout, heartbeatInterval: heartbeat),
            logger: .init(label: "test"))
    }

    /// Makes an image with the ffmpeg CLI (test fixtures only) and stores it as an original.
    func storeOriginal(_ lavfi: String, ext: String = "jpg", format: MediaFormat = .jpeg) async throws -> MediaUploaded {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("iw-\(UUID().uuidString).\(ext)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = try ChildProcess("/usr/bin/ffmpeg", ["-loglevel", "error", "-y", "-f", "lavfi", "-i", lavfi, "-frames:v", "1", path])
        process.waitUntilExit()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format)
        try await storage.put(key: key, bytes: bytes)
        return MediaUploaded(mediaId: Int64.random(in: 1...1_000_000), generation: 1, userId: 1, fileType: .image,
                             format: format, mimeType: format.mimeType, storageKey: key, fileSize: Int64(bytes.count))
    }

    func message(_ event: MediaUploaded) throws -> IncomingMessage {
        IncomingMessage(queue: "image-service", exchange: MediaEvents.exchange, routingKey: "media.uploaded.image",
                        body: Array(try EventCoding.encoder().encode(event)), messageId: event.eventId.uuidString,
                        type: MediaEvents.uploaded, headers: [:], redelivered: false)
    }

    func published(_ type: String) async -> [OutgoingMessage] {
        await broker.publishedMessages.filter { $0.routingKey == type }
    }

    /// Issue 27, defect 0b: a job whose earlier starts never ended (its process died in them) is not tried a third time.
    @Test func aJobAProcessDiedInTwiceIsFailedAndDeadLetteredUntried() async throws {
        let event = try await storeOriginal("testsrc2=size=320x240")
        let worker = try await worker()
        // Two starts whose process died: each left the job running in the ledger.
        for _ in 0..<2 {
            _ = try await jobs.begin(queue: "image-service", eventId: event.eventId, mediaId: event.mediaId,
                                     generation: 1, worker: "dead")
        }
        let outcome = await worker.handle(try message(event), attempt: 1)
        guard case .deadLetter(let failure) = outcome else { Issue.record("\(outcome)"); return }
        #expect(failure.code == "processing_crashed")
        #expect(await published(MediaEvents.ready).isEmpty, "not processed")
        #expect(jobs.job(queue: "image-service", eventId: event.eventId)?.running == false, "the job is over")
        #expect(jobs.job(queue: "image-service", eventId: event.eventId)?.crashedStarts == 2)
    }

    @Test func aJobIsRecordedBeforeItRunsAndBeatsWhileItDoes() async throws {
        let event = try await storeOriginal("testsrc2=size=4000x3000")
        #expect(try await worker(heartbeat: .milliseconds(20)).handle(try message(event), attempt: 1) == .ack)
        let job = try #require(jobs.job(queue: "image-service", eventId: event.eventId))
        #expect(job.mediaId == event.mediaId && !job.running && job.crashedStarts == 0)
        #expect(job.beats >= 1, "a 12 MP job takes longer than 20 ms: \(job.beats) beats")
        // A retried delivery of a job that ended normally is no crash.
        #expect(try await jobs.begin(queue: "image-service", eventId: event.eventId, mediaId: event.mediaId,
                                     generation: 1, worker: "t") == 0)
    }

    @Test func makesFiveRealRenditionsAndPublishesReady() async throws {
        let event = try await storeOriginal("testsrc2=size=1600x1200")
        #expect(try await worker().handle(try message(event), attempt: 1) == .ack)
        let ready = try #require(await published(MediaEvents.ready).first)
        let payload = try EventCoding.decoder().decode(MediaReady.self, from: Data(ready.body))
        #expect(payload.mediaId == event.mediaId && payload.generation == 1)
        #expect(payload.width == 1600 && payload.height == 1200)
        #expect(payload.metadata["format"] == "jpeg")
        let expected: [String: (Int, Int, String)] = [
            "thumbnail": (150, 150, "image/jpeg"), "small": (320, 240, "image/jpeg"), "medium": (640, 480, "image/jpeg"),
            "large": (1080, 810, "image/jpeg"), "webp": (640, 480, "image/webp"), "avif": (640, 480, "image/avif"),
        ]
        #expect(Set(payload.renditions.keys) == Set(expected.keys))
        for (name, (w, h, mime)) in expected {
            let r = try #require(payload.renditions[name])
            #expect(r.key.hasPrefix(StorageKeys.mediaPrefix(ofOriginal: event.storageKey) + "g1/"), "\(name) under the generation folder")
            #expect(r.mimeType == mime)
            let bytes = try await storage.get(key: r.key)
            #expect(Int64(bytes.count) == r.fileSize)
            // Decode what was stored: the real size, not what the event claims.
            let info = try ImageInspector.inspect(bytes: bytes)
            #expect(info.width == w && info.height == h, "\(name): \(info.width)x\(info.height)")
        }
        #expect(payload.renditions["avif"]?.key.hasSuffix(".avif") == true)
        // SPEC §12: the placeholders travel in the event's metadata.
        #expect(payload.metadata["thumbhash"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map(\.count) ?? 0 >= 5)
        #expect(payload.metadata["dominant_color"]?.stringValue?.hasPrefix("#") == true)
        #expect(try await inbox.contains(consumer: "image-service", eventId: event.eventId))
    }

    @Test func withAVIFTurnedOffThereIsNoAVIFRenditionAndTheRestIsAsBefore() async throws {
        #expect(try ImageServiceConfiguration(environment: Environment([:])).avif)
        let off = try ImageServiceConfiguration(environment: Environment(["MEDIA_IMAGE_AVIF": "false"]))
        #expect(!off.avif)
        #expect(throws: ConfigurationError.self) { try ImageServiceConfiguration(environment: Environment(["MEDIA_IMAGE_AVIF": "sometimes"])) }

        let event = try await storeOriginal("testsrc2=size=800x600")
        #expect(try await worker(avif: off.avif).handle(try message(event), attempt: 1) == .ack)
        let ready = try #require(await published(MediaEvents.ready).first)
        let payload = try EventCoding.decoder().decode(MediaReady.self, from: Data(ready.body))
        #expect(Set(payload.renditions.keys) == ["thumbnail", "small", "medium", "large", "webp"])
        #expect(payload.metadata["thumbhash"] != nil, "placeholders do not depend on AVIF")
        let stored = try await storage.list(prefix: StorageKeys.mediaPrefix(ofOriginal: event.storageKey))
        #expect(!stored.contains { $0.hasSuffix(".avif") }, "\(stored)")
    }

    @Test func redeliveryIsProcessedOnce() async throws {
        let event = try await storeOriginal("testsrc2=size=320x240")
        let w = try await worker()
        #expect(await w.handle(try message(event), attempt: 1) == .ack)
        #expect(await w.handle(try message(event), attempt: 1) == .ack)
        #expect(await published(MediaEvents.ready).count == 1)
    }

    @Test func pixelBombFailsWithImageTooLarge() async throws {
        let event = try await storeOriginal("color=c=red:size=400x300")
        #expect(try await worker(maxPixels: 100_000).handle(try message(event), attempt: 1) == .ack)
        let failed = try #require(await published(MediaEvents.failed).first)
        let payload = try EventCoding.decoder().decode(MediaFailed.self, from: Data(failed.body))
        #expect(payload.error.code == "image_too_large")
        #expect(await published(MediaEvents.ready).isEmpty)
    }

    @Test func truncatedJPEGFailsWithDecodeFailed() async throws {
        var event = try await storeOriginal("testsrc2=size=800x600")
        let bytes = try await storage.get(key: event.storageKey)
        let truncated = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await storage.put(key: truncated, bytes: Array(bytes.prefix(bytes.count / 2)))
        event.storageKey = truncated
        #expect(try await worker().handle(try message(event), attempt: 1) == .ack)
        let failed = try #require(await published(MediaEvents.failed).first)
        #expect(try EventCoding.decoder().decode(MediaFailed.self, from: Data(failed.body)).error.code == "decode_failed")
    }

    @Test func missingOriginalFailsAndBrokerOutageRetries() async throws {
        var event = try await storeOriginal("testsrc2=size=64x48")
        event.storageKey = "media/\(UUID().uuidString.lowercased())/original.jpg"
        #expect(try await worker().handle(try message(event), attempt: 1) == .ack)
        let failed = try #require(await published(MediaEvents.failed).first)
        #expect(try EventCoding.decoder().decode(MediaFailed.self, from: Data(failed.body)).error.code == "original_missing")

        let other = try await storeOriginal("testsrc2=size=64x48")
        await broker.failPublishes(where: { _ in true })
        guard case .retry = try await worker().handle(try message(other), attempt: 1) else {
            Issue.record("a broker outage must be retried, not acked")
            return
        }
        #expect(try await inbox.contains(consumer: "image-service", eventId: other.eventId) == false)
    }

    /// A 36 MP PNG (no shrink-on-load for PNG: its decode alone takes about a second here).
    func bigOriginal() async throws -> MediaUploaded {
        try await storeOriginal("testsrc2=size=6000x6000", ext: "png", format: .png)
    }

    @Test func drainAndJobTimeoutsStopLibvipsMidDecode() async throws {
        let event = try await bigOriginal()
        let delivery = try message(event)
        let undrained = try await worker()
        let draining = try await worker(drainTimeout: .milliseconds(100))
        var started = ContinuousClock.now
        #expect(await undrained.handle(delivery, attempt: 1) == .ack)
        let full = started.duration(to: .now)
        draining.beginDrain()
        // The same original under a new event id (the first one is in the inbox now).
        let again = MediaUploaded(mediaId: event.mediaId, generation: 1, userId: 1, fileType: .image, format: .png,
                                  mimeType: "image/png", storageKey: event.storageKey, fileSize: event.fileSize)
        let redelivery = try message(again)
        started = ContinuousClock.now
        let drained = await draining.handle(redelivery, attempt: 1)
        #expect(drained == .requeue, "\(drained)")
        let stopped = started.duration(to: .now)
        #expect(stopped < full / 2, "libvips stopped at the drain timeout (\(stopped)) instead of finishing (\(full))")
        #expect(await published(MediaEvents.failed).isEmpty, "a drained job is not a failure")
        #expect(await published(MediaEvents.ready).count == 1, "only the undrained run published")

        // The job timeout cuts libvips short the same way, and fails the media with processing_timeout.
        let third = MediaUploaded(mediaId: event.mediaId, generation: 1, userId: 1, fileType: .image, format: .png,
                                  mimeType: "image/png", storageKey: event.storageKey, fileSize: event.fileSize)
        let timingOut = try await worker(jobTimeout: .milliseconds(100))
        started = ContinuousClock.now
        #expect(await timingOut.handle(try message(third), attempt: 1) == .ack)
        let timedOut = started.duration(to: .now)
        #expect(timedOut < full / 2, "the timeout cut libvips short (\(timedOut), the whole job \(full))")
        let failed = try #require(await published(MediaEvents.failed).first)
        let payload = try EventCoding.decoder().decode(MediaFailed.self, from: Data(failed.body))
        #expect(payload.error.code == "processing_timeout")
    }
}

/// A processor that writes its rendition as a file in the job's work directory, as video and audio do.
struct FileRenditionProcessor: MediaProcessor {
    let fileType = FileType.video
    func process(_ job: ProcessingJob) async throws -> ProcessingOutput {
        let path = job.workDirectory + "/video.mp4"
        try Data([1, 2, 3, 4]).write(to: URL(fileURLWithPath: path))
        return ProcessingOutput(renditions: [
            ProducedRendition(name: "video", fileExtension: "mp4", mimeType: "video/mp4", width: 2, height: 2, content: .file(path: path)),
        ])
    }
}

@Suite("Processing worker with file renditions")
struct FileRenditionWorkerTests {
    @Test func fileRenditionsAreStoredBeforeTheWorkDirectoryGoes() async throws {
        let broker = InMemoryBroker()
        try await broker.declare(MediaTopology.all())
        let storage = MemoryStorage()
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .mp4)
        try await storage.put(key: key, bytes: [0])
        let event = MediaUploaded(mediaId: 1, generation: 3, userId: 1, fileType: .video, format: .mp4,
                                  mimeType: "video/mp4", storageKey: key, fileSize: 1)
        let worker = ProcessingWorker(processor: FileRenditionProcessor(), broker: broker, storage: storage,
                                      inbox: MemoryMediaRepository(), jobs: MemoryJobLedger(), options: .init(concurrency: 1),
                                      logger: .init(label: "t"))
        let message = IncomingMessage(queue: "video-service", exchange: MediaEvents.exchange, routingKey: "media.uploaded.video",
                                      body: Array(try EventCoding.encoder().encode(event)), messageId: "m", type: MediaEvents.uploaded,
                                      headers: [:], redelivered: false)
        #expect(await worker.handle(message, attempt: 1) == .ack)
        let stored = StorageKeys.rendition(original: key, generation: 3, name: "video", ext: "mp4")
        #expect(try await storage.get(key: stored) == [1, 2, 3, 4])
        let ready = try #require(await broker.publishedMessages.first { $0.routingKey == MediaEvents.ready })
        let payload = try EventCoding.decoder().decode(MediaReady.self, from: Data(ready.body))
        #expect(payload.renditions["video"]?.fileSize == 4)
    }
}
