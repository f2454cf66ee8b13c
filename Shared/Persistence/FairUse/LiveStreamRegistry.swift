import Foundation

/// The live-status streams open across every Gateway (SPEC §10: at most `MEDIA_MAX_STREAMS_PER_USER` per user).
///
/// A Gateway registers a stream before answering it and removes it when it ends; while open, its Gateway beats the
/// stream's heartbeat, so the streams of a Gateway that died stop counting once their heartbeat is older than
/// `staleAfter`.
public protocol LiveStreamRegistry: Sendable {
    /// Registers a stream of `userId` unless the user has `limit` fresh ones already (then nil).
    func open(userId: Int64, gateway: String, limit: Int, staleAfter: Duration) async throws -> UUID?
    func close(_ id: UUID) async throws
    /// Marks these streams (the ones this Gateway still serves) alive.
    func heartbeat(_ ids: [UUID]) async throws
}
