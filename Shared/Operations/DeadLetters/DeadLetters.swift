import Foundation
import Logging
import MediaDomain
import Messaging
import Metrics
import Persistence
import ServiceKit

/// A message parked in a dead queue, as its headers describe it (SPEC §6).
public struct DeadLetter: Sendable, Equatable {
    public var queue: String
    public var eventId: String
    public var type: String
    public var code: String
    public var message: String
    public var attempts: Int
    public var firstFailedAt: Date?
    public var replays: Int
    public var mediaId: Int64?
    public var generation: Int?
}

/// Dead letters of one queue with one failure code.
public struct DeadLetterGroup: Sendable, Equatable {
    public var queue: String
    public var code: String
    public var count: Int
    public var oldest: Date?
    public var newest: Date?
}

/// Which dead letters a replay takes: every given filter must match; `all` alone takes everything.
public struct DeadLetterSelection: Sendable, Equatable {
    public var queue: String?
    public var code: String?
    public var eventIds: Set<String>
    public var all: Bool
    public var limit: Int?

    public init(queue: String? = nil, code: String? = nil, eventIds: Set<String> = [], all: Bool = false, limit: Int? = nil) {
        self.queue = queue
        self.code = code
        self.eventIds = eventIds
        self.all = all
        self.limit = limit
    }

    /// A replay must say what it takes: a filter, or `all`.
    public var isEmpty: Bool { queue == nil && code == nil && eventIds.isEmpty && !all }

    func matches(_ letter: DeadLetter) -> Bool {
        (code == nil || letter.code == code) && (eventIds.isEmpty || eventIds.contains(letter.eventId))
    }
}

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

/// The dead queues, looked into and replayed (SPEC §6), for `mediactl dead` and the staff API alike.
///
/// Replay republishes each chosen message to its original exchange and routing key with a fresh attempt count and
/// `x-replays` + 1, and acks its dead copy only once the republish is confirmed: a crash in between loses nothing and
/// replays the message again next time, which the processors' inbox absorbs. Messages of deleted media, of an older
/// generation, or whose generation is already ready are skipped with the reason and removed. Before a media's job
/// is republished the media goes back to `processing` (same generation).
public struct DeadLetters: Sendable {
    let broker: any MessageBroker
    let media: any MediaRepository
    let operations: any OperationsStore
    let logger: Logger
    /// Most messages read from one dead queue in one call (the rest wait for the next).
    public static let readLimit = 10_000

    /// Every dead queue of the topology (SPEC §3).
    public static var queues: [String] {
        (FileType.allCases.map(MediaEvents.processorQueue) + [MediaEvents.statusQueue]).map(BrokerTopology.deadLetterQueueName)
    }

    public init(broker: any MessageBroker, media: any MediaRepository, operations: any OperationsStore, logger: Logger) {
        self.broker = broker
        self.media = media
        self.operations = operations
        self.logger = logger
    }

    /// The dead letters of `queue` (of every dead queue when nil), each queue read as it is right now.
    public func list(queue: String? = nil) async throws -> [DeadLetter] {
        try await Self.list(broker: broker, queue: queue)
    }

    /// The same, with the broker alone (looking needs no database).
    public static func list(broker: any MessageBroker, queue: String? = nil) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        for name in try Self.chosenQueues(queue) {
            letters += try await broker.withMessages(queue: name, limit: Self.readLimit) { deliveries in
                deliveries.map { Self.letter(from: $0.message, queue: name) }
            }
        }
        return letters
    }

    /// Counts by queue and failure code, with the oldest and newest first failure.
    public static func groups(_ letters: [DeadLetter]) -> [DeadLetterGroup] {
        var groups: [String: DeadLetterGroup] = [:]
        for letter in letters {
            let key = "\(letter.queue)\u{0}\(letter.code)"
            var group = groups[key] ?? DeadLetterGroup(queue: letter.queue, code: letter.code, count: 0)
            group.count += 1
            if let at = letter.firstFailedAt {
                group.oldest = min(group.oldest ?? at, at)
                group.newest = max(group.newest ?? at, at)
            }
            groups[key] = group
        }
        return groups.values.sorted { ($0.queue, $0.code) < ($1.queue, $1.code) }
    }

    /// Replays what `selection` chooses; with `dryRun` settles nothing and reports what it would do.
    public func replay(_ selection: DeadLetterSelection, dryRun: Bool) async throws -> ReplayReport {
        var report = ReplayReport(dryRun: dryRun)
        var budget = selection.limit ?? Int.max
        for name in try Self.chosenQueues(selection.queue) where budget > 0 {
            let remaining = budget
            let part = try await broker.withMessages(queue: name, limit: Self.readLimit) { deliveries in
                try await replay(deliveries, from: name, selection: selection, budget: remaining, dryRun: dryRun)
            }
            report.replayed += part.replayed
            report.skipped += part.skipped
            budget -= part.replayed.count + part.skipped.count
        }
        logger.notice("dead-letter replay", metadata: [
            "replayed": "\(report.replayed.count)", "skipped": "\(report.skipped.count)", "dry_run": "\(dryRun)",
        ])
        return report
    }

    private func replay(
        _ deliveries: [Delivery], from queue: String, selection: DeadLetterSelection, budget: Int, dryRun: Bool
    ) async throws -> ReplayReport {
        var report = ReplayReport(dryRun: dryRun)
        for delivery in deliveries where report.replayed.count + report.skipped.count < budget {
            let letter = Self.letter(from: delivery.message, queue: queue)
            guard selection.matches(letter) else { continue }  // left unsettled: back to the dead queue
            var logger = self.logger
            logger[metadataKey: "event_id"] = "\(letter.eventId)"
            if let reason = try await skipReason(letter) {
                report.skipped.append(.init(eventId: letter.eventId, reason: reason))
                if !dryRun {
                    try await delivery.ack()
                    logger.info("dead letter skipped and removed", metadata: ["reason": "\(reason)"])
                }
                continue
            }
            guard !dryRun else {
                report.replayed.append(letter.eventId)
                continue
            }
            // The media goes back to processing first, so the job never finds it failed; if the job cannot be
            // published after all, it is failed again (as it was) and its dead copy stays.
            var returned: Media?
            if letter.type == MediaEvents.uploaded, let id = letter.mediaId, let generation = letter.generation {
                returned = try await operations.returnToProcessing(id: id, generation: generation)
            }
            do {
                try await broker.publish(Self.republished(delivery.message))
            } catch {
                if let returned { _ = try await operations.restoreFailed(returned) }
                logger.error("dead letter not replayed: the republish failed; it stays in the dead queue", metadata: [
                    "media_id": "\(letter.mediaId ?? 0)", "error": "\(error)",
                ])
                report.skipped.append(.init(eventId: letter.eventId, reason: "publish_failed: \(error)"))
                continue
            }
            Failpoint.hit("replay.after-publish")
            try await delivery.ack()
            report.replayed.append(letter.eventId)
            Counter(label: "mediaflow_dead_letters_replayed_total", dimensions: [("queue", queue)]).increment()
            logger.info("dead letter replayed", metadata: ["replays": "\(letter.replays + 1)"])
        }
        return report
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
    static func republished(_ message: IncomingMessage) -> OutgoingMessage {
        var headers = message.headers
        let exchange = headers[MessageHeaders.originalExchange] ?? message.exchange
        let routingKey = headers[MessageHeaders.originalRoutingKey] ?? message.routingKey
        for name in MessageHeaders.failureCycle { headers[name] = nil }
        headers[MessageHeaders.replays] = "\((Int(headers[MessageHeaders.replays] ?? "0") ?? 0) + 1)"
        return OutgoingMessage(
            exchange: exchange, routingKey: routingKey, body: message.body, messageId: message.messageId,
            type: message.type, headers: headers)
    }

    static func letter(from message: IncomingMessage, queue: String) -> DeadLetter {
        let h = message.headers
        var mediaId: Int64?
        var generation: Int?
        if case .object(let body)? = try? message.body.withUnsafeBytes({ try JSONParser.parse($0) }) {
            mediaId = body["media_id"]?.intValue
            generation = body["generation"]?.intValue.map { Int($0) }
        }
        return DeadLetter(
            queue: queue, eventId: message.messageId, type: message.type.isEmpty ? message.routingKey : message.type,
            code: h[MessageHeaders.failureCode] ?? "unknown",
            message: h[MessageHeaders.failureMessage] ?? h["x-dead-reason"] ?? "",
            attempts: Int(h[MessageHeaders.attempts] ?? h[MessageHeaders.attempt] ?? "") ?? 1,
            firstFailedAt: h[MessageHeaders.firstFailedAt].flatMap { try? Date($0, strategy: .iso8601) },
            replays: Int(h[MessageHeaders.replays] ?? "0") ?? 0, mediaId: mediaId, generation: generation)
    }

    static func chosenQueues(_ queue: String?) throws -> [String] {
        guard let queue else { return queues }
        let name = queue.hasSuffix(".dead") ? queue : BrokerTopology.deadLetterQueueName(queue)
        guard queues.contains(name) else {
            throw OperationsError("no dead queue \(queue); the dead queues are \(queues.joined(separator: ", "))")
        }
        return [name]
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
