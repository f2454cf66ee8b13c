import Foundation
import Logging
import MediaDomain
import PostgresNIO

/// `ResumableUploadStore` on the `uploads` table (migration 8). Claims are leases in the row (`claimed_by`,
/// `claimed_until`), compared with the database's clock, so Gateways on several machines agree on them.
public struct PostgresResumableUploadStore: ResumableUploadStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns =
        "id, user_id, username, filename, is_public, idempotency_key, length, received, format, expires_at, media_id, metadata"

    private func rows(_ query: PostgresQuery) async throws -> [ResumableUpload] {
        var uploads: [ResumableUpload] = []
        for try await row in try await client.query(query, logger: logger) {
            let (id, userId, username, filename, isPublic, key, length, received, format, expires, mediaId, metadata) =
                try row.decode((UUID, Int64, String, String, Bool, String?, Int64, Int64, String?, Date, Int64?, String?).self)
            uploads.append(ResumableUpload(
                id: id, userId: userId, username: username, filename: filename, isPublic: isPublic, idempotencyKey: key,
                length: length, offset: received, format: format.flatMap(MediaFormat.init(rawValue:)),
                expiresAt: expires, mediaId: mediaId, metadata: metadata))
        }
        return uploads
    }

    public func createUpload(_ u: ResumableUpload) async throws {
        try await client.query(
            """
            INSERT INTO uploads (id, user_id, username, filename, is_public, idempotency_key, length, received, format,
                                 expires_at, media_id, metadata)
            VALUES (\(u.id), \(u.userId), \(u.username), \(u.filename), \(u.isPublic), \(u.idempotencyKey), \(u.length),
                    \(u.offset), \(u.format?.rawValue), \(u.expiresAt), \(u.mediaId), \(u.metadata))
            """, logger: logger)
    }

    public func upload(id: UUID) async throws -> ResumableUpload? {
        try await rows("SELECT \(unescaped: Self.columns) FROM uploads WHERE id = \(id)").first
    }

    public func claimUpload(id: UUID, holder: UUID, lease: Duration) async throws -> ResumableUpload? {
        try await rows(
            """
            UPDATE uploads SET claimed_by = \(holder), claimed_until = \(unescaped: Lease.until(lease))
            WHERE id = \(id) AND (\(unescaped: Lease.isFree) OR claimed_by = \(holder))
            RETURNING \(unescaped: Self.columns)
            """).first
    }

    public func renewClaim(id: UUID, holder: UUID, lease: Duration) async throws -> Bool {
        try await !rows(
            """
            UPDATE uploads SET claimed_until = \(unescaped: Lease.until(lease))
            WHERE id = \(id) AND claimed_by = \(holder) RETURNING \(unescaped: Self.columns)
            """).isEmpty
    }

    public func releaseClaim(id: UUID, holder: UUID) async throws {
        try await client.query(
            "UPDATE uploads SET claimed_by = NULL, \(unescaped: Lease.released) WHERE id = \(id) AND claimed_by = \(holder)",
            logger: logger)
    }

    public func advanceUpload(id: UUID, holder: UUID, from: Int64, to: Int64, format: MediaFormat?) async throws -> Bool {
        try await !rows(
            """
            UPDATE uploads SET received = \(to), format = coalesce(\(format?.rawValue), format)
            WHERE id = \(id) AND claimed_by = \(holder) AND received = \(from)
            RETURNING \(unescaped: Self.columns)
            """).isEmpty
    }

    public func completeUpload(id: UUID, mediaId: Int64, holder: UUID) async throws -> Bool {
        try await !rows(
            """
            UPDATE uploads SET media_id = \(mediaId), received = length, claimed_by = NULL, \(unescaped: Lease.released)
            WHERE id = \(id) AND claimed_by = \(holder) RETURNING \(unescaped: Self.columns)
            """).isEmpty
    }

    public func deleteUpload(id: UUID) async throws {
        try await client.query("DELETE FROM uploads WHERE id = \(id)", logger: logger)
    }

    public func expiredUploads(before date: Date, limit: Int) async throws -> [UUID] {
        try await rows(
            """
            SELECT \(unescaped: Self.columns) FROM uploads WHERE expires_at < \(date)
            ORDER BY expires_at LIMIT \(limit)
            """).map(\.id)
    }
}
