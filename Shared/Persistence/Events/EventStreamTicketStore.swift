import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Who a live-status ticket lets in: the user who asked for it, until the token they asked with expires.
public struct TicketHolder: Sendable, Equatable {
    public var userId: Int64
    public var username: String
    public var isStaff: Bool
    /// When the token that asked for the ticket expires: a stream it opens ends then (SPEC §10).
    public var expiresAt: Date

    public init(userId: Int64, username: String, isStaff: Bool, expiresAt: Date) {
        self.userId = userId
        self.username = username
        self.isStaff = isStaff
        self.expiresAt = expiresAt
    }
}

/// One-use tickets for `GET /api/media/events/?ticket=` (SPEC §8): a browser's EventSource cannot send an
/// `Authorization` header. Kept in PostgreSQL, so a ticket issued by one Gateway opens a stream on another.
public protocol EventStreamTicketStore: Sendable {
    /// Stores `ticket` for `holder` until `lifetime` has passed.
    func issue(_ ticket: String, for holder: TicketHolder, lifetime: Duration) async throws
    /// The holder of an unexpired ticket, which is used up by this; nil for an unknown, used or expired one.
    func redeem(_ ticket: String) async throws -> TicketHolder?
}

/// `EventStreamTicketStore` in memory, for unit tests.
public final class MemoryEventStreamTicketStore: EventStreamTicketStore {
    private let tickets = Mutex<[String: (holder: TicketHolder, expires: Date)]>([:])

    public init() {}

    public func issue(_ ticket: String, for holder: TicketHolder, lifetime: Duration) async throws {
        let expires = Date().addingTimeInterval(Double(lifetime.components.seconds))
        tickets.withLock { $0[ticket] = (holder, expires) }
    }

    public func redeem(_ ticket: String) async throws -> TicketHolder? {
        tickets.withLock { tickets in
            guard let entry = tickets.removeValue(forKey: ticket), entry.expires > Date() else { return nil }
            return entry.holder
        }
    }
}

/// `EventStreamTicketStore` on the `event_stream_tickets` table; redeeming is one `DELETE … RETURNING`, so two
/// Gateways cannot both accept the same ticket. Expired tickets go when the next ticket is issued.
public struct PostgresEventStreamTicketStore: EventStreamTicketStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func issue(_ ticket: String, for holder: TicketHolder, lifetime: Duration) async throws {
        try await client.query("DELETE FROM event_stream_tickets WHERE expires_at < now()", logger: logger)
        try await client.query(
            """
            INSERT INTO event_stream_tickets (ticket, user_id, username, is_staff, expires_at, holder_expires_at)
            VALUES (\(ticket), \(holder.userId), \(holder.username), \(holder.isStaff),
                    now() + \(lifetime.components.seconds) * interval '1 second', \(holder.expiresAt))
            """, logger: logger)
    }

    public func redeem(_ ticket: String) async throws -> TicketHolder? {
        for try await (user, name, staff, expires) in try await client.query(
            """
            DELETE FROM event_stream_tickets WHERE ticket = \(ticket) AND expires_at > now()
            RETURNING user_id, username, is_staff, holder_expires_at
            """, logger: logger).decode((Int64, String, Bool, Date).self)
        {
            return TicketHolder(userId: user, username: name, isStaff: staff, expiresAt: expires)
        }
        return nil
    }
}
