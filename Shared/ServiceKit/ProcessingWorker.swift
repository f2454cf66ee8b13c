import Foundation
import Logging
import MediaDomain
import Messaging
import Metrics
import Persistence
import ServiceLifecycle
import Storage
import Synchronization

/// The worker every processor shares: consume `media.uploaded.<type>` → skip events already handled →
/// process the original from a local file → store renditions under generation-specific keys → publish
/// `media.ready` (confirmed) → record the event → ack. Input-caused failures publish `media.failed`;
/// transient ones are retried with growing delay and dead-lettered (and failed) after the last attempt.
public struct ProcessingWorker: Service {
    public struct Options: Sendable {
        /// Jobs in flight in this process (the queue's prefetch).
        public var concurrency: Int
        public var retryPolicy: RetryPolicy
        /// Longest a single job may run before it fails with `processing_timeout`.
        public var jobTimeout: Duration
        /// Least time between two progress events of one job.
        public var progressInterval: Duration

        public init(concurrency: Int, retryPolicy: RetryPolicy = .default, jobTimeout: Duration = .seconds(600),
                    progressInterval: Duration = .seconds(1)) {
            self.concurrency = concurrency
            self.retryPolicy = retryPolicy
            self.jobTimeout = jobTimeout
            self.progressInterval = progressInterval
        }
    }

    let processor: any MediaProcessor
    let broker: any MessageBroker
    let storage: any BlobStorage
    let inbox: any InboxStore
    let options: Options
    let logger: Logger
    var queue: String { MediaEvents.processorQueue(processor.fileType) }

    public init(processor: any MediaProcessor, broker: any MessageBroker, storage: any BlobStorage,
                inbox: any InboxStore, options: Options, logger: Logger) {
        self.processor = processor
        self.broker = broker
        self.storage = storage
        self.inbox = inbox
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await broker.declareWhenReachable(MediaTopology.all(retryPolicy: options.retryPolicy), logger: logger)
            let consumer = RetryingConsumer(
                broker: broker, queue: queue, prefetch: options.concurrency, policy: options.retryPolicy,
                logger: logger,
                handler: { message, attempt in await handle(message, attempt: attempt) },
                onDeadLetter: { message, reason in try await deadLettered(message, reason: reason) })
            logger.info("worker consuming", metadata: ["queue": "\(queue)", "concurrency": "\(options.concurrency)"])
            try await consumer.run()
        }
    }

    /// Handles one delivery; exposed for tests.
    public func handle(_ message: IncomingMessage, attempt: Int) async -> HandlingOutcome {
        let event: MediaUploaded
        do {
            event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(message.body))
        } catch {
            logger.error("media.uploaded cannot be decoded", metadata: ["message_id": "\(message.messageId)", "error": "\(error)"])
            return .deadLetter(reason: "undecodable media.uploaded: \(error)")
        }
        var logger = self.logger
        logger[metadataKey: "media_id"] = "\(event.mediaId)"
        logger[metadataKey: "event_id"] = "\(event.eventId)"
        logger[metadataKey: "generation"] = "\(event.generation)"
        do {
            if try await inbox.contains(consumer: queue, eventId: event.eventId) {
                logger.info("event already processed; acknowledging the redelivery")
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "duplicate")]).increment()
                return .ack
            }
        } catch {
            let reason = "inbox: \(DatabaseFailure.describe(error))"
            logger.warning("inbox unavailable; will retry", metadata: ["error": "\(reason)"])
            return .retry(reason: reason)
        }

        // The job's scratch folder lives until its renditions are stored (they may be files in it).
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mediaflow-job-\(UUID().uuidString)").path
        defer {
            do {
                try FileManager.default.removeItem(atPath: work)
            } catch where (error as? CocoaError)?.code != .fileNoSuchFile {
                // Left on local disk only (never in storage); the job's result stands.
                logger.warning("job scratch folder not removed", metadata: ["path": "\(work)", "error": "\(error)"])
            } catch {}
        }
        let started = ContinuousClock.now
        let outcome: Result<ProcessingOutput, any Error>
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            outcome = .success(try await runJob(event, workDirectory: work))
        } catch let error as StorageError where error.isNotFound {
            outcome = .failure(MediaError(code: "original_missing", message: "The original file is no longer stored."))
        } catch {
            outcome = .failure(error)
        }
        let elapsed = started.duration(to: .now)
        let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)

        do {
            switch outcome {
            case .success(let output):
                let renditions = try await store(output.renditions, of: event)
                var metadata = output.metadata
                metadata["attempts"] = .int(Int64(attempt))
                let ready = MediaReady(
                    mediaId: event.mediaId, generation: event.generation, renditions: renditions, width: output.width,
                    height: output.height, duration: output.duration, bitrate: output.bitrate, metadata: metadata,
                    processingMs: ms)
                try await Self.publish(ready, id: ready.eventId, type: MediaEvents.ready, on: broker)
                Timer(label: "mediaflow_job_duration_seconds", dimensions: [("queue", queue)]).recordNanoseconds(Int64(ms) * 1_000_000)
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "ready")]).increment()
                logger.info("media ready", metadata: ["processing_ms": "\(ms)", "renditions": "\(renditions.count)"])
            case .failure(let error as MediaError):
                let failed = MediaFailed(mediaId: event.mediaId, generation: event.generation, error: error, attempts: attempt)
                try await Self.publish(failed, id: failed.eventId, type: MediaEvents.failed, on: broker)
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "failed")]).increment()
                logger.warning("media failed", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            case .failure(let error):
                logger.warning("processing error; will retry", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                return .retry(reason: "\(error)")
            }
            try await inbox.record(consumer: queue, eventId: event.eventId)
            return .ack
        } catch {
            let reason = "publishing outcome: \(DatabaseFailure.describe(error))"
            logger.warning("outcome not stored or published; will retry", metadata: ["error": "\(reason)"])
            return .retry(reason: reason)
        }
    }

    private func runJob(_ event: MediaUploaded, workDirectory work: String) async throws -> ProcessingOutput {
        let progress = ProgressReporter(interval: options.progressInterval) { [broker] percent in
            let event = MediaProgress(mediaId: event.mediaId, generation: event.generation, percent: percent)
            // Progress is advisory: not persisted by the broker, and a lost one is replaced a second later.
            try? await Self.publish(event, id: event.eventId, type: MediaEvents.progress, persistent: false, on: broker)
        }
        let processor = self.processor
        let timeout = options.jobTimeout
        return try await storage.withLocalFile(key: event.storageKey) { path in
            try await withThrowingTaskGroup(of: ProcessingOutput.self) { group in
                group.addTask {
                    try await processor.process(ProcessingJob(
                        event: event, inputPath: path, workDirectory: work, progress: { progress.report($0) }))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw MediaError(code: "processing_timeout", message: "Processing took longer than \(timeout).")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
        }
    }

    private func store(_ renditions: [ProducedRendition], of event: MediaUploaded) async throws -> [String: RenditionInfo] {
        var stored: [String: RenditionInfo] = [:]
        for r in renditions {
            let key = StorageKeys.rendition(original: event.storageKey, generation: event.generation, name: r.name, ext: r.fileExtension)
            let size: Int64
            switch r.content {
            case .bytes(let bytes):
                try await storage.put(key: key, bytes: bytes)
                size = Int64(bytes.count)
            case .file(let path):
                try await storage.store(key: key, contentsOf: path)
                size = Int64((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            }
            stored[r.name] = RenditionInfo(key: key, mimeType: r.mimeType, width: r.width, height: r.height, fileSize: size)
        }
        return stored
    }

    /// Publishes one outcome event on `media.events` with its event id as `message_id` (consumers dedupe on it).
    static func publish(
        _ event: some Encodable, id: UUID, type: String, persistent: Bool = true, on broker: any MessageBroker
    ) async throws {
        try await broker.publish(OutgoingMessage(
            exchange: MediaEvents.exchange, routingKey: type, body: Array(try EventCoding.encoder().encode(event)),
            messageId: id.uuidString.lowercased(), type: type, persistent: persistent))
    }

    /// After the last attempt: the media must not stay `processing`, so it fails with the reason.
    private func deadLettered(_ message: IncomingMessage, reason: String) async throws {
        guard let event = try? EventCoding.decoder().decode(MediaUploaded.self, from: Data(message.body)) else { return }
        logger.error("job dead-lettered; failing the media", metadata: [
            "media_id": "\(event.mediaId)", "event_id": "\(event.eventId)", "reason": "\(reason)",
        ])
        let failed = MediaFailed(
            mediaId: event.mediaId, generation: event.generation,
            error: MediaError(code: "processing_failed", message: "Processing failed after retries: \(reason)"),
            attempts: RetryingConsumer.attempt(of: message))
        try await Self.publish(failed, id: failed.eventId, type: MediaEvents.failed, on: broker)
    }
}

/// Throttles progress reports to one per interval and publishes them off the job's thread.
final class ProgressReporter: Sendable {
    private let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    private let send: @Sendable (Double) async -> Void

    init(interval: Duration, send: @escaping @Sendable (Double) async -> Void) {
        self.interval = interval
        self.send = send
    }

    func report(_ percent: Double) {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, previous.duration(to: now) < interval { return false }
            last = now
            return true
        }
        guard due else { return }
        let send = self.send
        Task { await send(min(100, max(0, percent))) }
    }
}
