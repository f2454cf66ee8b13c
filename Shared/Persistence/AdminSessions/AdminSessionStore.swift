import Foundation

/// An admin console session (SPEC §7) as stored: who signed in, until when, and the CSRF token of its forms. The
/// browser holds only a random secret; the store keeps its hash.
public struct AdminSessionRecord: Sendable, Equatable {
    /// The session's handle for staff (listing, revoking); not the secret.
    public var id: Int64
    public var userId: Int64
    public var username: String
    public var isStaff: Bool
    public var csrfToken: String
    public var createdAt: Date
    /// The expiry of the token the session was made from.
    public var expiresAt: Date

    public init(id: Int64, userId: Int64, username: String, isStaff: Bool, csrfToken: String, createdAt: Date,
                expiresAt: Date) {
        self.id = id
        self.userId = userId
        self.username = username
        self.isStaff = isStaff
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Server-side admin sessions, shared by every Gateway: a session found here is live; logout, expiry and revocation
/// end it for all of them at once.
public protocol AdminSessionStore: Sendable {
    /// Stores a new session under the hash of its secret.
    func create(secretHash: String, userId: Int64, username: String, isStaff: Bool, csrfToken: String, expiresAt: Date)
        async throws -> AdminSessionRecord
    /// The live session with this secret hash: not ended, not expired.
    func find(secretHash: String) async throws -> AdminSessionRecord?
    /// Ends the session with this secret hash (logout); false when none was live.
    @discardableResult
    func end(secretHash: String, by: String) async throws -> Bool
    /// Ends session `id` (staff revoking it); false when none was live.
    @discardableResult
    func revoke(id: Int64, by: String) async throws -> Bool
    /// Live sessions, newest first.
    func live(limit: Int) async throws -> [AdminSessionRecord]
    /// Deletes sessions that ended or expired longer than `age` ago; returns how many.
    func prune(olderThan age: Duration) async throws -> Int
}
