import Logging
import MediaDomain
import PostgresNIO

extension PostgresMediaRepository: PerceptualHashStore {
    public func perceptualHashChanges(userId: Int64, after sequence: Int64, limit: Int) async throws -> [PerceptualHashChange] {
        // `media_user_phash_seq` answers this from the index: usually nothing since the last look.
        try await rows(
            """
            SELECT id, phash, phash_seq FROM media
            WHERE user_id = \(userId) AND phash_seq > \(sequence)
            ORDER BY phash_seq LIMIT \(limit)
            """
        ).map { row in
            let (id, hash, seq) = try row.decode((Int64, Int64?, Int64).self)
            return PerceptualHashChange(mediaId: id, hash: hash.map { UInt64(bitPattern: $0) }, sequence: seq)
        }
    }

    public func media(ids: [Int64], userId: Int64) async throws -> [Media] {
        guard !ids.isEmpty else { return [] }
        return try fetchAll(try await rows(
            "SELECT \(unescaped: Self.columns) FROM media WHERE id = ANY(\(ids)) AND user_id = \(userId)"))
    }

    public func existingIds(_ ids: [Int64], userId: Int64) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return Set(try await rows("SELECT id FROM media WHERE id = ANY(\(ids)) AND user_id = \(userId)")
            .map { try $0.decode(Int64.self) })
    }
}
