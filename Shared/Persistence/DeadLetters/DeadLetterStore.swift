import Foundation

/// A message parked in a dead queue, as its headers describe it (SPEC §6).
public struct DeadLetter: Sendable, Equatable {
    /// The record's id in the store.
    public var id: Int64
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

    public init(id: Int64 = 0, queue: String, eventId: String, type: String, code: String, message: String, attempts: Int,
                firstFailedAt: Date?, replays: Int, mediaId: Int64?, generation: Int?) {
        self.id = id
        self.queue = queue
        self.eventId = eventId
        self.type = type
        self.code = code
        self.message = message
        self.attempts = attempts
        self.firstFailedAt = firstFailedAt
        self.replays = replays
        self.mediaId = mediaId
        self.generation = generation
    }
}

/// A dead letter with the message itself, as parked: enough to publish it again where it first went.
public struct ParkedLetter: Sendable, Equatable {
    public var letter: DeadLetter
    public var exchange: String
    public var routingKey: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(letter: DeadLetter, exchange: String, routingKey: String, headers: [String: String], body: [UInt8]) {
        self.letter = letter
        self.exchange = exchange
        self.routingKey = routingKey
        self.headers = headers
        self.body = body
    }
}

/// Dead letters of one queue with one failure code.
public struct DeadLetterGroup: Sendable, Equatable {
    public var queue: String
    public var code: String
    public var count: Int
    public var oldest: Date?
    public var newest: Date?

    public init(queue: String, code: String, count: Int, oldest: Date? = nil, newest: Date? = nil) {
        self.queue = queue
        self.code = code
        self.count = count
        self.oldest = oldest
        self.newest = newest
    }
}

/// Which dead letters a replay or a listing takes: every given filter must match; `all` alone takes everything.
public struct DeadLetterSelection: Sendable, Equatable {
    /// A dead queue's name (`image-service.dead`).
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

    public func matches(_ letter: DeadLetter) -> Bool {
        (queue == nil || letter.queue == queue) && (code == nil || letter.code == code)
            && (eventIds.isEmpty || eventIds.contains(letter.eventId))
    }
}

/// The dead letters as recorded when they were parked (issue 27, defect 6): listed, grouped and replayed from here, so
/// looking at them reads rows instead of taking every message off its queue and giving it back (which raised quorum
/// queues' delivery counts until RabbitMQ dropped them). The dead queues stay the durable parking place until a
/// letter is recorded.
public protocol DeadLetterStore: Sendable {
    /// Records a parked message; the same parked message recorded twice (a redelivery) is one record.
    func park(_ parked: ParkedLetter) async throws
    /// Unresolved letters that `selection` takes (its `limit` ignored), oldest first: one page, and how many in all.
    func letters(_ selection: DeadLetterSelection, offset: Int, limit: Int) async throws -> (count: Int, letters: [DeadLetter])
    /// Unresolved letters by queue and code, with the oldest and newest first failure.
    func groups(_ selection: DeadLetterSelection) async throws -> [DeadLetterGroup]
    /// Takes up to `limit` unresolved letters of `selection` for `lease`, none of `excluding`: another replay meanwhile
    /// does not take them, and a replay that dies lets them go when the lease ends.
    func claim(_ selection: DeadLetterSelection, excluding: Set<Int64>, limit: Int, lease: Duration) async throws -> [ParkedLetter]
    /// Ends a claimed letter: `replayed`, or `skipped: <reason>`.
    func resolve(id: Int64, as resolution: String) async throws
    /// Gives a claimed letter back unresolved (its republish failed).
    func release(id: Int64) async throws
}
