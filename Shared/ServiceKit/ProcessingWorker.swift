import Foundation
import Logging
import MediaDomain
import Messaging
import Metrics
import Persistence
import Scanning
import ServiceCore
import ServiceLifecycle
import Storage
import Synchronization
import Tracing

/// The worker every processor shares: consume `media.uploaded.<type>` → skip events already handled →
/// process the original from a local file → store renditions under generation-specific keys → publish
/// `media.ready` (confirmed) → record the event → ack. Input-caused failures publish `media.failed`;
/// transient ones are retried with growing delay and dead-lettered (and failed) after the last attempt.
///
/// On graceful shutdown (SIGTERM) it drains (SPEC §6): it stops taking messages, lets the jobs in hand run for up
/// to `drainTimeout`, then stops the rest and puts their messages back on the queue as they came, without
/// spending an attempt, for another replica (or this one, restarted) to take again.
public struct ProcessingWorker: Service {
    public struct Options: Sendable {
        /// Jobs in flight in this process (the queue's prefetch).
        public var concurrency: Int
        public var retryPolicy: RetryPolicy
        /// Longest a single job may run before it fails with `processing_timeout`.
        public var jobTimeout: Duration
        /// Least time between two progress events of one job.
        public var progressInterval: Duration
        /// How long jobs in hand may still run once a drain began (`MEDIA_DRAIN_TIMEOUT`).
        public var drainTimeout: Duration
        /// How often a running job tells the ledger it is alive (`MEDIA_HEARTBEAT_INTERVAL`): well inside the
        /// Janitor's `MEDIA_STUCK_AFTER`, which judges a job by it.
        public var heartbeatInterval: Duration
        /// Starts of one job whose process died in them before the job is a poison message (`MEDIA_MAX_CRASHES`): the
        /// next delivery fails its media with `processing_crashed` and is dead-lettered without being tried.
        public var maxCrashes: Int

        public init(concurrency: Int, retryPolicy: RetryPolicy = .default, jobTimeout: Duration = .seconds(600),
                    progressInterval: Duration = .seconds(1), drainTimeout: Duration = .seconds(30),
                    heartbeatInterval: Duration = .seconds(30), maxCrashes: Int = 2) {
            self.concurrency = concurrency
            self.retryPolicy = retryPolicy
            self.jobTimeout = jobTimeout
            self.progressInterval = progressInterval
            self.drainTimeout = drainTimeout
            self.heartbeatInterval = heartbeatInterval
            self.maxCrashes = maxCrashes
        }
    }

    let processor: any MediaProcessor
    let broker: any MessageBroker
    let storage: any BlobStorage
    let inbox: any InboxStore
    let jobs: any JobLedger
    let options: Options
    /// The malware scan beside each job (SPEC §13); nil when `MEDIA_CLAMD` is not set.
    let scanning: ScanStage?
    let logger: Logger
    /// Fired on graceful shutdown; read by every job in hand.
    let drain = DrainSignal()
    /// The events this process is working on.
    let inFlight = InFlightEvents()
    var queue: String { MediaEvents.processorQueue(processor.fileType) }

    /// Who runs the jobs, as the ledger records it (host and pid).
    let workerName = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"

    public init(processor: any MediaProcessor, broker: any MessageBroker, storage: any BlobStorage,
                inbox: any InboxStore, jobs: any JobLedger, options: Options, scanner: (any MalwareScanner)? = nil,
                allowUnscannedLarger: Int64? = nil, logger: Logger) {
        self.scanning = scanner.map { ScanStage(scanner: $0, allowUnscannedLarger: allowUnscannedLarger) }
        self.processor = processor
        self.broker = broker
        self.storage = storage
        self.inbox = inbox
        self.jobs = jobs
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            // Until the broker answers, a shutdown has nothing to drain: stop waiting at once.
            try await cancelWhenGracefulShutdown {
                try await broker.declareWhenReachable(MediaTopology.all(retryPolicy: options.retryPolicy), logger: logger)
            }
            guard !drain.hasFired, !Task.isShuttingDownGracefully else { return }
            let consumer = RetryingConsumer(
                broker: broker, queue: queue, prefetch: options.concurrency, policy: options.retryPolicy,
                logger: logger,
                handler: { message, attempt in await handle(message, attempt: attempt) },
                onDeadLetter: { message, failure in try await deadLettered(message, failure: failure) })
            logger.info("worker consuming", metadata: ["queue": "\(queue)", "concurrency": "\(options.concurrency)"])
            try await consumer.run(drain: drain)
            logger.info("worker drained", metadata: ["queue": "\(queue)"])
        } onGracefulShutdown: { [drain, logger, options] in
            logger.info("draining: no new jobs; jobs in hand may run on", metadata: ["drain_timeout": "\(options.drainTimeout)"])
            drain.fire()
        }
    }

    /// Starts draining, as a graceful shutdown does (tests call it directly).
    public func beginDrain() { drain.fire() }

    /// Handles one delivery; exposed for tests.
    public func handle(_ message: IncomingMessage, attempt: Int) async -> HandlingOutcome {
        let event: MediaUploaded
        do {
            event = try EventCoding.decoder().decode(MediaUploaded.self, from: Data(message.body))
        } catch {
            logger.error("media.uploaded cannot be decoded", metadata: ["message_id": "\(message.messageId)", "error": "\(error)"])
            return .deadLetter(reason: "undecodable media.uploaded: \(error)", code: "undecodable_event")
        }
        var logger = self.logger
        logger[metadataKey: "media_id"] = "\(event.mediaId)"
        logger[metadataKey: "event_id"] = "\(event.eventId)"
        logger[metadataKey: "generation"] = "\(event.generation)"
        // The upload's trace (SPEC §3): logged with every line of this job; the job runs in a span continuing it, and
        // its outcome events carry that span on.
        let incoming = message.headers[TraceParent.headerName].flatMap(TraceParent.init(header:))
        if let incoming { logger[metadataKey: "trace_id"] = "\(incoming.traceId)" }
        return await TraceSpan.run("process \(queue)", kind: .consumer, continuing: incoming) { trace, span in
            span.attributes["mediaflow.media_id"] = event.mediaId
            span.attributes["mediaflow.generation"] = event.generation
            span.attributes["mediaflow.attempt"] = attempt
            let outcome = await handle(event, attempt: attempt, trace: trace, logger: logger)
            switch outcome {
            case .ack: span.attributes["mediaflow.outcome"] = "ack"
            case .requeue: span.attributes["mediaflow.outcome"] = "requeue"
            case .retry(let failure), .deadLetter(let failure):
                span.attributes["mediaflow.outcome"] = failure.code
                span.setStatus(SpanStatus(code: .error, message: failure.message))
            }
            return outcome
        }
    }

    /// One decoded job, inside its span: `trace` is what its outcome events carry on.
    private func handle(_ event: MediaUploaded, attempt: Int, trace: TraceParent, logger: Logger) async -> HandlingOutcome {
        // A connection lost mid-job (a broker node gone) returns the message to the queue while this process still
        // works on it, and the consumer, reconnected, may get it again at once: wait for our own job, then the inbox
        // below tells whether it is done.
        if !inFlight.begin(event.eventId) {
            logger.info("event redelivered while this process still works on it; waiting for that job")
            repeat { await inFlight.waitUntilDone(event.eventId) } while !inFlight.begin(event.eventId)
        }
        defer { inFlight.end(event.eventId) }
        do {
            if try await inbox.contains(consumer: queue, eventId: event.eventId) {
                logger.info("event already processed; acknowledging the redelivery")
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "duplicate")]).increment()
                return .ack
            }
        } catch {
            let reason = "inbox: \(DatabaseFailure.describe(error))"
            logger.warning("inbox unavailable; will retry", metadata: ["error": "\(reason)"])
            return .retry(reason: reason, code: "database_unavailable")
        }

        // Recorded before any work: a process that dies in this job (libvips or libav aborting on a hostile file)
        // leaves its start unfinished, and the next delivery sees it.
        let crashed: Int
        do {
            crashed = try await jobs.begin(
                queue: queue, eventId: event.eventId, mediaId: event.mediaId, generation: event.generation, worker: workerName)
        } catch {
            let reason = "job ledger: \(DatabaseFailure.describe(error))"
            logger.warning("job ledger unavailable; will retry", metadata: ["error": "\(reason)"])
            return .retry(reason: reason, code: "database_unavailable")
        }
        let outcome: HandlingOutcome
        if crashed >= options.maxCrashes {
            logger.error("poison message: a process died in this job each time it started; failing the media, not trying again",
                         metadata: ["crashed_starts": "\(crashed)", "max_crashes": "\(options.maxCrashes)"])
            Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "crashed")]).increment()
            outcome = .deadLetter(
                reason: "the processor died \(crashed) times while working on this file; it was not tried again",
                code: "processing_crashed")
        } else {
            outcome = await withHeartbeat(event, logger: logger) {
                await process(event, attempt: attempt, trace: trace, logger: logger)
            }
        }
        do {
            try await jobs.finish(queue: queue, eventId: event.eventId)
        } catch {
            // Left running in the ledger: the next start of this job counts one crash too many, never one too few.
            logger.warning("job end not recorded in the ledger", metadata: ["error": "\(DatabaseFailure.describe(error))"])
        }
        return outcome
    }

    /// Runs `job` while telling the ledger every `heartbeatInterval` that it is alive.
    private func withHeartbeat(
        _ event: MediaUploaded, logger: Logger, _ job: @escaping @Sendable () async -> HandlingOutcome
    ) async -> HandlingOutcome {
        let (jobs, queue, interval) = (self.jobs, self.queue, options.heartbeatInterval)
        return await withTaskGroup(of: HandlingOutcome?.self) { group in
            group.addTask { await job() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard !Task.isCancelled else { break }
                    do {
                        try await jobs.beat(queue: queue, eventId: event.eventId)
                    } catch {
                        logger.warning("job heartbeat not recorded", metadata: ["error": "\(DatabaseFailure.describe(error))"])
                    }
                }
                return nil
            }
            var result: HandlingOutcome = .requeue
            for await outcome in group {
                guard let outcome else { continue }
                result = outcome
                group.cancelAll()
            }
            return result
        }
    }

    /// The job itself: the original from storage, the processor, the renditions stored and the outcome published.
    private func process(_ event: MediaUploaded, attempt: Int, trace: TraceParent, logger: Logger) async -> HandlingOutcome {
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
        // With "media ready" (or the failure) below, it tells which replica holds a job, and which job a lost one held.
        logger.info("job started", metadata: ["attempt": "\(attempt)"])
        let outcome: Result<ProcessingOutput, any Error>
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            outcome = .success(try await runJob(event, workDirectory: work, logger: logger))
        } catch let error as StorageError where error.isNotFound {
            // An original this job's earlier attempt quarantined (the failure not published before it stopped) is
            // still an infected one, and stays releasable.
            if scanning != nil, (try? await storage.info(key: StorageKeys.quarantine(ofOriginal: event.storageKey))) != nil {
                outcome = .failure(MediaError(code: Quarantine.errorCode,
                                              message: "Malware was found in this file earlier; it is quarantined and was not published."))
            } else {
                outcome = .failure(MediaError(code: "original_missing", message: "The original file is no longer stored."))
            }
        } catch is DrainTimeout {
            // Put down unfinished for another replica: no outcome, no inbox record, no attempt spent.
            logger.notice("job stopped by the drain timeout; its message goes back to the queue", metadata: [
                "drain_timeout": "\(options.drainTimeout)",
            ])
            Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "requeued")]).increment()
            return .requeue
        } catch {
            outcome = .failure(error)
        }
        let elapsed = started.duration(to: .now)
        let ms = Int(elapsed.milliseconds)

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
                try await Self.publish(ready, id: ready.eventId, type: MediaEvents.ready, trace: trace, on: broker)
                Timer(label: "mediaflow_job_duration_seconds", dimensions: [("queue", queue)]).recordNanoseconds(Int64(ms) * 1_000_000)
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "ready")]).increment()
                logger.info("media ready", metadata: ["processing_ms": "\(ms)", "renditions": "\(renditions.count)"])
            case .failure(let error as MediaError):
                let failed = MediaFailed(mediaId: event.mediaId, generation: event.generation, error: error, attempts: attempt)
                try await Self.publish(failed, id: failed.eventId, type: MediaEvents.failed, trace: trace, on: broker)
                Counter(label: "mediaflow_jobs_total", dimensions: [("queue", queue), ("outcome", "failed")]).increment()
                logger.warning("media failed", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            case .failure(let error) where error is CancellationError || Task.isCancelled:
                // Stopped from outside (the process is going down): not the job's fault, no attempt spent.
                logger.notice("job cancelled; its message goes back to the queue", metadata: ["error": "\(error)"])
                return .requeue
            case .failure(let error):
                let code = error is StorageError ? "storage_unavailable" : "processing_error"
                logger.warning("processing error; will retry", metadata: [
                    "attempt": "\(attempt)", "code": "\(code)", "error": "\(error)",
                ])
                return .retry(reason: "\(error)", code: code)
            }
            try await inbox.record(consumer: queue, eventId: event.eventId)
            return .ack
        } catch {
            let code = switch error {
            case is StorageError: "storage_unavailable"
            case let error where DatabaseFailure.isUnavailable(error): "database_unavailable"
            case is MessagingError: "broker_unavailable"
            default: "processing_error"
            }
            let reason = "publishing outcome: \(DatabaseFailure.describe(error))"
            logger.warning("outcome not stored or published; will retry", metadata: ["code": "\(code)", "error": "\(reason)"])
            return .retry(reason: reason, code: code)
        }
    }

    private func runJob(_ event: MediaUploaded, workDirectory work: String, logger: Logger) async throws -> ProcessingOutput {
        let progress = ProgressReporter(interval: options.progressInterval) { [broker] percent in
            let event = MediaProgress(mediaId: event.mediaId, generation: event.generation, percent: percent)
            // Progress is advisory: not persisted by the broker, and a lost one is replaced a second later.
            try? await Self.publish(event, id: event.eventId, type: MediaEvents.progress, persistent: false, on: broker)
        }
        let processor = self.processor
        let (timeout, drain, drainTimeout) = (options.jobTimeout, self.drain, options.drainTimeout)
        let storage = self.storage
        let scanning = event.scanReleased == true ? nil : self.scanning
        if event.scanReleased == true, self.scanning != nil {
            logger.notice("malware scan skipped: staff released this original from quarantine")
        }
        return try await storage.withLocalFile(key: event.storageKey) { path in
            // The scan runs beside the processing (its own connection, its own reads of the file); its verdict is
            // awaited before anything is published. It is outside the job's timeout: a job waiting for an unreachable
            // scanner waits (its heartbeat goes on), a drain puts it back.
            async let decision = scanning?.decide(path: path, size: event.fileSize, drain: drain, logger: logger)
            // The job races its timeout and, once a drain began, the drain timeout; the loser is cancelled and must
            // stop (libvips and libav poll the cancellation), so neither limit waits for a job that ignores it.
            // A processing failure does not skip the verdict: an infected file that also fails to decode is quarantined
            // all the same (its original must not stay served). A drain or a cancellation goes first.
            let output: Result<ProcessingOutput, any Error>
            do {
                output = .success(try await withThrowingTaskGroup(of: ProcessingOutput.self) { group in
                group.addTask {
                    Failpoint.abortIfMarked(path: path)
                    return try await processor.process(ProcessingJob(
                        event: event, inputPath: path, workDirectory: work, progress: { progress.report($0) }))
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw MediaError(code: "processing_timeout", message: "Processing took longer than \(timeout).")
                }
                group.addTask {
                    await drain.wait()
                    try Task.checkCancellation()
                    try await Task.sleep(for: drainTimeout)
                    throw DrainTimeout()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
                })
            } catch let error where error is DrainTimeout || error is CancellationError || Task.isCancelled {
                throw error
            } catch {
                output = .failure(error)
            }
            switch try await decision {
            case nil, .proceed?:
                return try output.get()
            case .infected(let signature)?:
                try await Self.quarantine(path: path, of: event, storage: storage, logger: logger)
                throw MediaError(code: Quarantine.errorCode,
                                 message: "Malware found: \(signature). The file is quarantined and was not published.")
            case .tooLarge?:
                // What processing found wrong with the file is the more useful answer when there is one.
                if case .failure(let error) = output { throw error }
                throw MediaError(code: "scan_too_large",
                                 message: "The file is larger than the malware scanner accepts, so it was not scanned or published.")
            }
        }
    }

    /// Moves an infected original out of the served files (SPEC §13): a copy under `quarantine/` first, then the
    /// original removed, so its URLs answer 404 and only staff reach it. A failure is a storage failure: retried.
    static func quarantine(path: String, of event: MediaUploaded, storage: any BlobStorage, logger: Logger) async throws {
        let key = StorageKeys.quarantine(ofOriginal: event.storageKey)
        try await storage.store(key: key, contentsOf: path)
        try await storage.delete(key: event.storageKey)
        logger.notice("infected original quarantined", metadata: ["quarantine_key": "\(key)"])
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
    /// With `trace`, the event carries that `traceparent` (the sending span's).
    static func publish(
        _ event: some Encodable, id: UUID, type: String, persistent: Bool = true, trace: TraceParent? = nil,
        on broker: any MessageBroker
    ) async throws {
        try await broker.publish(OutgoingMessage(
            exchange: MediaEvents.exchange, routingKey: type, body: Array(try EventCoding.encoder().encode(event)),
            messageId: id.uuidString.lowercased(), type: type,
            headers: trace.map { [TraceParent.headerName: $0.header] } ?? [:], persistent: persistent))
    }

    /// After the last attempt: the media must not stay `processing`, so it fails with the reason (its dead copy
    /// waits in `<queue>.dead` for a replay once the cause is gone).
    private func deadLettered(_ message: IncomingMessage, failure: HandlingFailure) async throws {
        guard let event = try? EventCoding.decoder().decode(MediaUploaded.self, from: Data(message.body)) else {
            logger.error("undecodable job dead-lettered; no media to fail", metadata: ["message_id": "\(message.messageId)"])
            return
        }
        logger.error("job dead-lettered; failing the media", metadata: [
            "media_id": "\(event.mediaId)", "event_id": "\(event.eventId)", "code": "\(failure.code)",
            "reason": "\(failure.message)",
        ])
        let error = failure.code == "processing_crashed"
            ? MediaError(code: "processing_crashed", message: "Processing stopped: \(failure.message).")
            : MediaError(code: "processing_failed", message: "Processing failed after retries (\(failure.code)): \(failure.message)")
        let failed = MediaFailed(
            mediaId: event.mediaId, generation: event.generation, error: error, attempts: RetryingConsumer.attempt(of: message))
        try await Self.publish(failed, id: failed.eventId, type: MediaEvents.failed,
                               trace: message.headers[TraceParent.headerName].flatMap(TraceParent.init(header:))?.child(), on: broker)
    }
}

/// The drain timeout ran out before the job finished.
struct DrainTimeout: Error {}

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

/// Event ids a process is working on, so a redelivery of one of them waits for that job instead of running beside it.
final class InFlightEvents: Sendable {
    private let state = Mutex<[UUID: [CheckedContinuation<Void, Never>]]>([:])

    /// Marks `id` in flight; false when it already was.
    func begin(_ id: UUID) -> Bool {
        state.withLock { s in
            guard s[id] == nil else { return false }
            s[id] = []
            return true
        }
    }

    func end(_ id: UUID) {
        let waiters = state.withLock { s in s.removeValue(forKey: id) ?? [] }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `id` is not in flight (at once when it is not).
    func waitUntilDone(_ id: UUID) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                guard s[id] != nil else { return true }
                s[id]?.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
