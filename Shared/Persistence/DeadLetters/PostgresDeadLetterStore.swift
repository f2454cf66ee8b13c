import Foundation
import Logging
import PostgresNIO

/// `DeadLetterStore` on the `dead_letters` table (migration 16). A letter is claimed for a replay with a lease
/// (`claimed_until`, `FOR UPDATE SKIP LOCKED`), like the outbox and webhook deliveries: two replays never publish
/// the same letter at once, and one that dies lets its letters go when the lease ends.
public struct PostgresDeadLetterStore: DeadLetterStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let letterColumns =
        "id, queue, event_id, type, code, message, attempts, first_failed_at, replays, media_id, generation"

    private static func letter(_ row: PostgresRow) throws -> DeadLetter {
        let (id, queue, event, type, code, message, attempts, first, replays, media, generation) = try row.decode(
            (Int64, String, String, String, String, String, Int, Date?, Int, Int64?, Int?).self)
        return DeadLetter(id: id, queue: queue, eventId: event, type: type, code: code, message: message,
                          attempts: attempts, firstFailedAt: first, replays: replays, mediaId: media, generation: generation)
    }

    /// The selection as a condition on unresolved rows (every value bound).
    private static func condition(_ s: DeadLetterSelection) -> PostgresQuery {
        """
        resolution IS NULL AND (\(s.queue)::text IS NULL OR queue = \(s.queue))
          AND (\(s.code)::text IS NULL OR code = \(s.code))
          AND (cardinality(\(Array(s.eventIds))::text[]) = 0 OR event_id = ANY(\(Array(s.eventIds))))
        """
    }

    public func park(_ parked: ParkedLetter) async throws {
        let l = parked.letter
        let headers = String(decoding: try JSONEncoder().encode(parked.headers), as: UTF8.self)
        _ = try await client.guardedRows(
            """
            INSERT INTO dead_letters (queue, event_id, replays, type, code, message, attempts, first_failed_at, media_id,
                                      generation, exchange, routing_key, headers, body)
            VALUES (\(l.queue), \(l.eventId), \(l.replays), \(l.type), \(l.code), \(l.message), \(l.attempts),
                    \(l.firstFailedAt), \(l.mediaId), \(l.generation), \(parked.exchange), \(parked.routingKey),
                    \(headers)::jsonb, \(ByteBuffer(bytes: parked.body)))
            ON CONFLICT (queue, event_id, replays) DO NOTHING
            """, logger: logger)
    }

    public func letters(_ selection: DeadLetterSelection, offset: Int, limit: Int) async throws -> (count: Int, letters: [DeadLetter]) {
        let countQuery = Self.merged("SELECT count(*) FROM dead_letters WHERE ", Self.condition(selection), "")
        let count = try await client.guardedRows(countQuery, logger: logger).first?.decode(Int.self) ?? 0
        let page = try await client.guardedRows(
            Self.merged("SELECT \(Self.letterColumns) FROM dead_letters WHERE ", Self.condition(selection),
                        " ORDER BY id LIMIT \(limit) OFFSET \(offset)"), logger: logger)
        return (count, try page.map(Self.letter))
    }

    public func groups(_ selection: DeadLetterSelection) async throws -> [DeadLetterGroup] {
        try await client.guardedRows(
            Self.merged("SELECT queue, code, count(*), min(first_failed_at), max(first_failed_at) FROM dead_letters WHERE ",
                        Self.condition(selection), " GROUP BY queue, code ORDER BY queue, code"), logger: logger
        ).map { row in
            let (queue, code, count, oldest, newest) = try row.decode((String, String, Int, Date?, Date?).self)
            return DeadLetterGroup(queue: queue, code: code, count: count, oldest: oldest, newest: newest)
        }
    }

    public func claim(_ selection: DeadLetterSelection, excluding: Set<Int64>, limit: Int, lease: Duration) async throws
        -> [ParkedLetter]
    {
        // The excluded ids go in as a literal array of integers (nothing of a user's).
        let excluded = excluding.isEmpty ? "" : " AND id NOT IN (\(excluding.sorted().map(String.init).joined(separator: ",")))"
        let inner = Self.merged(
            "SELECT id FROM dead_letters WHERE \(Lease.isFree)\(excluded) AND ",
            Self.condition(selection), " ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED")
        var query = PostgresQuery(unsafeSQL: "", binds: inner.binds)
        query.sql = """
            UPDATE dead_letters SET claimed_until = \(Lease.until(lease))
            WHERE id IN (\(inner.sql))
            RETURNING \(Self.letterColumns), exchange, routing_key, headers::text, body
            """
        return try await client.guardedRows(query, logger: logger).map { row in
            let letter = try Self.letter(row)
            let columns = try row.decode(
                (Int64, String, String, String, String, String, Int, Date?, Int, Int64?, Int?, String, String, String, ByteBuffer).self)
            let headers = (try? JSONDecoder().decode([String: String].self, from: Data(columns.13.utf8))) ?? [:]
            return ParkedLetter(letter: letter, exchange: columns.11, routingKey: columns.12, headers: headers,
                                body: Array(buffer: columns.14))
        }.sorted { $0.letter.id < $1.letter.id }
    }

    public func resolve(id: Int64, as resolution: String) async throws {
        _ = try await client.guardedRows(
            """
            UPDATE dead_letters SET resolution = \(resolution), resolved_at = now(), \(unescaped: Lease.released) WHERE id = \(id)
            """, logger: logger)
    }

    public func release(id: Int64) async throws {
        _ = try await client.guardedRows("UPDATE dead_letters SET \(unescaped: Lease.released) WHERE id = \(id)", logger: logger)
    }

    /// `prefix` + `condition` + `suffix` as one query, the condition's binds kept (the prefix and suffix bind nothing).
    private static func merged(_ prefix: String, _ condition: PostgresQuery, _ suffix: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: prefix + condition.sql + suffix, binds: condition.binds)
    }
}
