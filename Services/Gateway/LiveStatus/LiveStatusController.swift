import Crypto
import Foundation
import GatewayFairUse
import GatewayKit
import Hummingbird
import Logging
import MediaDomain
import Persistence
import ServiceLifecycle
import Tokens

/// `GET /api/media/events/` and `POST /api/media/events/ticket/` (SPEC §8): a Server-Sent Events stream of the
/// caller's own `media.progress`, `media.ready`, `media.failed` and `media.deleted`.
///
/// A stream subscribes to the hub first and then replays what the log holds after `Last-Event-ID` (24 hours at most),
/// so nothing recorded in between is lost; an event both replayed and handed live is written once (positions only
/// grow). A stream ends with an `end` event when the token that opened it expires (SPEC §10).
package struct LiveStatusController: Sendable {
    package static let resumeWindow = Duration.seconds(24 * 3600)
    package static let ticketLifetime = Duration.seconds(60)

    package let hub: MediaEventHub
    package let log: any MediaEventLog
    package let tickets: any EventStreamTicketStore
    package let authenticator: JWTAuthenticator
    package let links: MediaLinks
    /// The cap on a user's open streams across Gateways (SPEC §10); nil: no cap (unit tests of other concerns).
    package let streams: StreamAllowance?

    package init(hub: MediaEventHub, log: any MediaEventLog, tickets: any EventStreamTicketStore, authenticator: JWTAuthenticator,
                 links: MediaLinks, streams: StreamAllowance? = nil) {
        self.streams = streams
        self.hub = hub
        self.log = log
        self.tickets = tickets
        self.authenticator = authenticator
        self.links = links
    }

    package func addRoutes(streams: RouterGroup<GatewayRequestContext>, tickets ticketRoutes: RouterGroup<GatewayRequestContext>) {
        streams.get(use: stream)
        streams.methodNotAllowed("", allow: [.get, .head])
        ticketRoutes.post("ticket", use: issueTicket)
        ticketRoutes.methodNotAllowed("ticket", allow: [.post])
    }

    /// The caller and when its credentials expire: a bearer token, or else a ticket (`?ticket=`) that is used up by
    /// this (the stream then ends when the token that asked for the ticket expires).
    private func caller(of request: Request, context: GatewayRequestContext) async throws -> (user: AuthenticatedUser, expiresAt: Date) {
        if request.headers[.authorization] == nil, let ticket = request.uri.queryParameters["ticket"].map(String.init) {
            guard let holder = try await tickets.redeem(ticket) else {
                context.logger.info("live status: refused an unknown, used or expired ticket")
                throw APIError(.unauthorized, code: "ticket_invalid",
                               detail: "The ticket is unknown, used or expired: ask for a new one (tickets are valid once, for 60 s).")
            }
            return (AuthenticatedUser(id: holder.userId, username: holder.username, isStaff: holder.isStaff), holder.expiresAt)
        }
        return try authenticator.credentials(of: request)
    }

    @Sendable package func issueTicket(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (user, expiresAt) = try authenticator.credentials(of: request)
        let ticket = Self.newTicket()
        try await tickets.issue(
            ticket, for: TicketHolder(userId: user.id, username: user.username, isStaff: user.isStaff, expiresAt: expiresAt),
            lifetime: Self.ticketLifetime)
        // No URL of the stream in the answer: the ticket goes in `?ticket=` of `GET /api/media/events/`. (A URL here
        // reads, to a client that follows links, like `/api/media/{id}/` with the id "events".)
        struct Issued: Encodable {
            let ticket: String
            let expires_in: Int64
        }
        return try json(Issued(ticket: ticket, expires_in: Self.ticketLifetime.components.seconds), status: .created)
    }

    @Sendable package func stream(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (user, expiresAt) = try await caller(of: request, context: context)
        let resumeFrom = try Self.lastEventId(request)
        guard let streams else {
            return open(userId: user.id, resumeFrom: resumeFrom, expiresAt: expiresAt, logger: context.logger)
        }
        let registration = try await streams.open(userId: user.id, logger: context.logger)
        return open(userId: user.id, resumeFrom: resumeFrom, expiresAt: expiresAt, logger: context.logger) { [logger = context.logger] in
            await streams.close(registration, logger: logger)
        }
    }

    /// A stream of `userId`'s events (every user's when nil: the admin console), resumed after `resumeFrom`, ending
    /// when `expiresAt` passes.
    /// `ended` runs once the stream is over, however it ended.
    package func open(userId: Int64?, resumeFrom: Int64?, expiresAt: Date?, logger: Logger,
                      ended: @escaping @Sendable () async -> Void = {}) -> Response {
        logger.debug("live status: stream opened", metadata: ["resume_from": "\(resumeFrom ?? 0)"])
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        headers.set("X-Accel-Buffering", "no")
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            do {
                try await serve(userId: userId, resumeFrom: resumeFrom, expiresAt: expiresAt, logger: logger) {
                    try await writer.write($0)
                }
            } catch {
                await ended()
                throw error
            }
            await ended()
            try await writer.finish(nil)
        })
    }

    /// Writes one stream: the replay after `resumeFrom`, then live events until the stream ends (its credentials expired,
    /// it fell too far behind, or the Gateway shuts down).
    ///
    /// Subscribed before the replay reads the log: an event recorded in between is handed live, and one both replayed
    /// and handed live is written once. Positions grow in the order events become visible, so a replay that read up to
    /// position p has seen every event at or below p that will ever exist, and every later one comes live.
    package func serve(
        userId: Int64?, resumeFrom: Int64?, expiresAt: Date?, logger: Logger, write: (ByteBuffer) async throws -> Void
    ) async throws {
        // Subscribed here, not before the response, so no subscription outlives its body.
        let subscription = hub.subscribe(userId: userId, expiresAt: expiresAt)
        defer { hub.unsubscribe(subscription.id) }
        try await withGracefulShutdownHandler {
            var sent = resumeFrom ?? 0
            try await write(ByteBuffer(string: "retry: 2000\n: stream open\n\n"))
            if let resumeFrom {
                // A position from the future (a database restored from an older backup) would hide every live event
                // until positions caught up with it: the stream goes on from the newest event instead.
                let latest = try await Self.reading(logger, resumeFrom) { try await log.latestPosition() }
                if resumeFrom > latest {
                    logger.info("live status: Last-Event-ID is ahead of the log; resuming from its end",
                                metadata: ["last_event_id": "\(resumeFrom)", "latest": "\(latest)"])
                    sent = latest
                }
                while true {
                    let after = sent
                    let page = try await Self.reading(logger, resumeFrom) {
                        if let userId {
                            try await log.events(userId: userId, after: after, maxAge: Self.resumeWindow, limit: 500)
                        } else {
                            try await log.events(after: after, limit: 500)
                        }
                    }
                    for record in page {
                        try await write(MediaEventPayload.sseFrame(record, links: links))
                        sent = record.position
                    }
                    guard page.count == 500 else { break }
                }
            }
            for await item in subscription.items {
                switch item {
                case .event(let record):
                    guard record.position > sent else { continue }
                    try await write(MediaEventPayload.sseFrame(record, links: links))
                    sent = record.position
                case .keepAlive:
                    try await write(ByteBuffer(string: ": keep-alive\n\n"))
                case .end(let reason):
                    logger.info("live status: stream ended", metadata: ["reason": "\(reason)"])
                    try await write(ByteBuffer(string: "event: end\ndata: {\"reason\":\"\(reason)\"}\n\n"))
                }
            }
        } onGracefulShutdown: {
            hub.unsubscribe(subscription.id)
        }
    }

    /// A read of the log for a replay; a failure ends the stream (its headers are sent: no error answer is possible),
    /// with a log line, and the client reconnects with its `Last-Event-ID`.
    package static func reading<T>(_ logger: Logger, _ resumeFrom: Int64, _ read: () async throws -> T) async throws -> T {
        do {
            return try await read()
        } catch {
            logger.warning("live status: the replay could not read the event log; the stream ends and its client resumes",
                           metadata: ["resume_from": "\(resumeFrom)", "error": "\(DatabaseFailure.describe(error))"])
            throw error
        }
    }

    /// `Last-Event-ID` (the header EventSource sends on reconnecting), or `?last_event_id=` for clients that cannot
    /// set headers on the first connection.
    package static func lastEventId(_ request: Request) throws -> Int64? {
        let text = request.headers.value(named: "Last-Event-ID")
            ?? request.uri.queryParameters["last_event_id"].map(String.init)
        guard let text, !text.isEmpty else { return nil }
        guard let id = Int64(text.trimmingCharacters(in: .whitespaces)), id >= 0 else {
            throw APIError.badRequest("invalid_last_event_id", "Last-Event-ID must be an event id this stream sent.")
        }
        return id
    }

    /// 32 random bytes in hex (a ticket travels in a query string: nothing in it needs escaping).
    package static func newTicket() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
    }
}
