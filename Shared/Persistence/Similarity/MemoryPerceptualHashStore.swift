import MediaDomain

/// The in-memory twin of the trigger-kept sequence: a change is noticed when it is asked for (the rows hold only
/// metadata), which gives the same answers to a reader that asks after each write, as the tests do.
extension MemoryMediaRepository: PerceptualHashStore {
    public func perceptualHashChanges(userId: Int64, after sequence: Int64, limit: Int) async throws -> [PerceptualHashChange] {
        state.withLock { s in
            for media in s.rows.values.sorted(by: { $0.id < $1.id }) {
                let hash = media.metadata["phash"]?.stringValue.flatMap { $0.utf8.count == 16 ? UInt64($0, radix: 16) : nil }
                let reported = s.reportedHashes[media.id]
                if reported == nil ? hash != nil : reported?.hash != hash {
                    s.hashSequence += 1
                    s.reportedHashes[media.id] = (hash, s.hashSequence)
                }
            }
            return s.reportedHashes
                .filter { $0.value.sequence > sequence && s.rows[$0.key]?.userId == userId }
                .map { PerceptualHashChange(mediaId: $0.key, hash: $0.value.hash, sequence: $0.value.sequence) }
                .sorted { $0.sequence < $1.sequence }
                .prefix(limit).map { $0 }
        }
    }

    public func media(ids: [Int64], userId: Int64) async throws -> [Media] {
        state.withLock { s in ids.compactMap { s.rows[$0] }.filter { $0.userId == userId } }
    }

    public func existingIds(_ ids: [Int64], userId: Int64) async throws -> Set<Int64> {
        state.withLock { s in Set(ids.filter { s.rows[$0]?.userId == userId }) }
    }
}
