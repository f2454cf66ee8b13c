import Foundation
import Logging
import MediaDomain
import Messaging
import Metrics
import Persistence
import ServiceCore

/// What a replay did (or, dry, would do).
public struct ReplayReport: Sendable, Equatable {
    public struct Skip: Sendable, Equatable {
        public var eventId: String
        public var reason: String
    }

    public var replayed: [String] = []
    public var skipped: [Skip] = []
    public var dryRun: Bool
}

/// The dead letters, listed and replayed (SPEC §6), for `mediactl dead`, the staff API and the admin console alike.
///
/// Everything reads the letters recorded in PostgreSQL when they were parked (`DeadLetterRecorder`), never the dead
/// queues themselves: looking takes nothing off a queue, and two people looking see the same thing.
///
/// Replay claims the chosen letters (a lease: a second replay meanwhile takes others), republishes each to its original
/// exchange and routing key with a fresh attempt count and `x-replays` + 1, and marks it replayed once the republish is
/// confirmed: a crash in between loses nothing and replays the message again when the lease ends, which the processors'
/// inbox absorbs. Letters of deleted media, of an older generation, or whose generation is already ready are skipped
/// with the reason. Before a media's job is republished the media goes back to `processing` (same generation).
public struct DeadLetters: Sendable {
    let store: any DeadLetterStore
    /// Where replays publish; nil for a tool that only looks.
    let broker: (any MessageBroker)?
    let media: any MediaRepository
    let operations: any OperationsStore
    let logger: Logger
    /// Most letters one replay takes.
    public static let replayBatch = 10_000
    /// Letters claimed at once, and for how long: a replay that dies holds at most these, this long.
    static let claimBatch = 50
    public static let claimLease = Duration.seconds(15)

    /// Every dead queue of the topology (SPEC §3).
    public static var queues: [String] {
        (FileType.allCases.map(MediaEvents.processorQueue) + [MediaEvents.statusQueue]).map(BrokerTopology.deadLetterQueueName)
    }

    public init(store: any DeadLetterStore, broker: (any MessageBroker)?, media: any MediaRepository,
                operations: any OperationsStore, logger: Logger) {
        self.store = store
        self.broker = broker
        self.media = media
        self.operations = operations
        self.logger = logger
    }

    /// One page of the letters `selection` takes (oldest first) and how many there are.
    public func list(_ selection: DeadLetterSelection, offset: Int = 0, limit: Int = 1000) async throws
        -> (count: Int, letters: [DeadLetter])
    {
        try await store.letters(try Self.normalized(selection), offset: offset, limit: limit)
    }

    /// Counts by queue and failure code, with the oldest and newest first failure.
    public func groups(_ selection: DeadLetterSelection = DeadLetterSelection()) async throws -> [DeadLetterGroup] {
        try await store.groups(try Self.normalized(selection))
    }

    /// Replays what `selection` chooses; with `dryRun` changes nothing and reports what it would do.
    public func replay(_ selection: DeadLetterSelection, dryRun: Bool) async throws -> ReplayReport {
        let selection = try Self.normalized(selection)
        let budget = min(selection.limit ?? Self.replayBatch, Self.replayBatch)
        var report = ReplayReport(dryRun: dryRun)
        if dryRun {
            for letter in try await store.letters(selection, offset: 0, limit: budget).letters {
                if let reason = try await skipReason(letter) {
                    report.skipped.append(.init(eventId: letter.eventId, reason: reason))
                } else {
                    report.replayed.append(letter.eventId)
                }
            }
            return report
        }
        guard let broker else { throw OperationsError("a replay needs the broker") }
        // Claimed a batch at a time for a short lease, so a replay that dies holds few letters for long; a letter
        // tried once in this replay (its republish failed) is not taken again by it.
        var tried: Set<Int64> = []
        while tried.count < budget {
            let batch = try await store.claim(selection, excluding: tried, limit: min(Self.claimBatch, budget - tried.count),
                                              lease: Self.claimLease)
            guard !batch.isEmpty else { break }
            for parked in batch {
                tried.insert(parked.letter.id)
                try await replay(parked, broker: broker, into: &report)
            }
        }
        logger.notice("dead-letter replay", metadata: [
            "replayed": "\(report.replayed.count)", "skipped": "\(report.skipped.count)", "dry_run": "\(dryRun)",
        ])
        return report
    }

    /// One claimed letter: skipped with its reason, or republished and resolved.
    private func replay(_ parked: ParkedLetter, broker: any MessageBroker, into report: inout ReplayReport) async throws {
        let letter = parked.letter
        var logger = self.logger
        logger[metadataKey: "event_id"] = "\(letter.eventId)"
        if let reason = try await skipReason(letter) {
            try await store.resolve(id: letter.id, as: "skipped: \(reason)")
            report.skipped.append(.init(eventId: letter.eventId, reason: reason))
            logger.info("dead letter skipped", metadata: ["reason": "\(reason)"])
            return
        }
        // The media goes back to processing first, so the job never finds it failed; if the job cannot be
        // published after all, it is failed again (as it was) and the letter stays for another replay.
        var returned: Media?
        if letter.type == MediaEvents.uploaded, let id = letter.mediaId, let generation = letter.generation {
            returned = try await operations.returnToProcessing(id: id, generation: generation)
        }
        do {
            try await broker.publish(Self.republished(parked))
        } catch {
            if let returned { _ = try await operations.restoreFailed(returned) }
            try await store.release(id: letter.id)
            logger.error("dead letter not replayed: the republish failed; it stays for another replay", metadata: [
                "media_id": "\(letter.mediaId ?? 0)", "error": "\(error)",
            ])
            report.skipped.append(.init(eventId: letter.eventId, reason: "publish_failed: \(error)"))
            return
        }
        Failpoint.hit("replay.after-publish")
        try await store.resolve(id: letter.id, as: "replayed")
        report.replayed.append(letter.eventId)
        Counter(label: "mediaflow_dead_letters_replayed_total", dimensions: [("queue", letter.queue)]).increment()
        logger.info("dead letter replayed", metadata: ["replays": "\(letter.replays + 1)"])
    }

    /// Why a dead letter must not be replayed, or nil.
    private func skipReason(_ letter: DeadLetter) async throws -> String? {
        guard let id = letter.mediaId, let generation = letter.generation else { return nil }
        guard let current = try await media.find(id: id) else { return "media_deleted" }
        if current.generation > generation { return "superseded" }
        if letter.type == MediaEvents.uploaded, current.status == .ready { return "already_ready" }
        return nil
    }

    /// The message as first published, with a fresh attempt count and one more replay.
    static func republished(_ parked: ParkedLetter) -> OutgoingMessage {
        var headers = parked.headers
        for name in MessageHeaders.failureCycle { headers[name] = nil }
        headers[MessageHeaders.replays] = "\(parked.letter.replays + 1)"
        return OutgoingMessage(
            exchange: parked.exchange, routingKey: parked.routingKey, body: parked.body, messageId: parked.letter.eventId,
            type: parked.letter.type, headers: headers)
    }

    /// A parked message read off dead queue `queue`, with what its headers say.
    public static func parked(from message: IncomingMessage, queue: String) -> ParkedLetter {
        let h = message.headers
        var mediaId: Int64?
        var generation: Int?
        if case .object(let body)? = try? message.body.withUnsafeBytes({ try JSONParser.parse($0) }) {
            mediaId = body["media_id"]?.intValue
            generation = body["generation"]?.intValue.map { Int($0) }
        }
        // Parked by the broker itself (a quorum work queue's delivery limit): it names the work queue the letter left,
        // and replaying means putting it back there.
        let brokerReason = h["x-first-death-reason"]
        let brokerQueue = brokerReason == nil ? nil : h["x-first-death-queue"]
        let letter = DeadLetter(
            queue: queue, eventId: message.messageId, type: message.type.isEmpty ? message.routingKey : message.type,
            code: h[MessageHeaders.failureCode] ?? brokerReason ?? "unknown",
            message: h[MessageHeaders.failureMessage] ?? h["x-dead-reason"]
                ?? brokerReason.map { Self.brokerExplanation($0, queue: brokerQueue ?? queue) } ?? "",
            attempts: Int(h[MessageHeaders.attempts] ?? h[MessageHeaders.attempt] ?? "") ?? 1,
            firstFailedAt: h[MessageHeaders.firstFailedAt].flatMap { try? Date($0, strategy: .iso8601) },
            replays: Int(h[MessageHeaders.replays] ?? "0") ?? 0, mediaId: mediaId, generation: generation)
        if let brokerQueue, h[MessageHeaders.originalRoutingKey] == nil {
            return ParkedLetter(letter: letter, exchange: "", routingKey: brokerQueue, headers: h, body: message.body)
        }
        return ParkedLetter(
            letter: letter, exchange: h[MessageHeaders.originalExchange] ?? message.exchange,
            routingKey: h[MessageHeaders.originalRoutingKey] ?? message.routingKey, headers: h, body: message.body)
    }

    /// What a person reading the dead letters is told about a letter the broker parked.
    static func brokerExplanation(_ reason: String, queue: String) -> String {
        switch reason {
        case "delivery_limit":
            "the broker parked it after \(QueueType.deliveryLimit) deliveries from \(queue) were never acknowledged "
                + "(the consumers holding it died or lost their connection each time)"
        default: "the broker dead-lettered it from \(queue) (\(reason))"
        }
    }

    /// `selection` with its queue named as a dead queue (`image-service` → `image-service.dead`), checked.
    static func normalized(_ selection: DeadLetterSelection) throws -> DeadLetterSelection {
        guard let queue = selection.queue else { return selection }
        let name = queue.hasSuffix(".dead") ? queue : BrokerTopology.deadLetterQueueName(queue)
        guard queues.contains(name) else {
            throw OperationsError("no dead queue \(queue); the dead queues are \(queues.joined(separator: ", "))")
        }
        var normalized = selection
        normalized.queue = name
        return normalized
    }
}

/// A request an operator tool cannot carry out as asked (shown to them as it is).
public struct OperationsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension DeadLetterGroup {
    /// `{queue, code, count, oldest, newest}`: the shape `mediactl dead list --json` and the staff API share.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("queue"); w.string(queue)
        w.key("code"); w.string(code)
        w.key("count"); w.int(count)
        w.key("oldest"); w.string(oldest.map(ISO8601.string(from:)))
        w.key("newest"); w.string(newest.map(ISO8601.string(from:)))
        w.endObject()
    }
}

extension DeadLetter {
    /// `{queue, event_id, type, code, message, attempts, first_failed_at, replays, media_id, generation}`.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("queue"); w.string(queue)
        w.key("event_id"); w.string(eventId)
        w.key("type"); w.string(type)
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        w.key("attempts"); w.int(attempts)
        w.key("first_failed_at"); w.string(firstFailedAt.map(ISO8601.string(from:)))
        w.key("replays"); w.int(replays)
        w.key("media_id"); w.int(mediaId)
        w.key("generation"); w.int(generation)
        w.endObject()
    }
}
