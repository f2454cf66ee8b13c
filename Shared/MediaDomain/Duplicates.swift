import Foundation

/// Duplicate uploads (SPEC §13): a user who uploads bytes identical to one of their own media that is not `failed`
/// gets a new media that records the same stored files instead of a second copy and a second job.
///
/// The new media (the follower) starts where its source stands: `ready` with the source's renditions and what was
/// learned, or `processing` beside it, in which case the source's outcome is folded into the follower too. A follower
/// takes the source's generation, so the keys it records are the ones that generation names; a reprocess of any media
/// sharing a folder moves past every generation used in it, so its new renditions are its own.
public enum Duplicates {
    /// The metadata key naming the media whose files a duplicate shares.
    public static let metadataKey = "duplicate_of"

    /// Among a user's media with the same content, the one an upload shares files with: a ready one first (the new
    /// media is ready at once), else the oldest still processing; never a failed one.
    public static func source(among candidates: [Media]) -> Media? {
        candidates.filter { $0.status == .ready || $0.status == .processing }
            .min { ($0.status == .ready ? 0 : 1, $0.id) < ($1.status == .ready ? 0 : 1, $1.id) }
    }

    /// The media whose job decides a follower's outcome: the source itself, or for a source that is a processing
    /// follower, the media it follows (the one whose job is running).
    public static func leaderId(of source: Media) -> Int64 {
        guard source.status == .processing, let leader = source.metadata[metadataKey]?.intValue else { return source.id }
        return leader
    }

    /// What a duplicate's metadata starts as: the source's (progress and `duplicate_of` aside), naming its source, or
    /// while it processes, the leader whose outcome it will take.
    public static func followerMetadata(of source: Media) -> [String: JSONValue] {
        var metadata = source.metadata
        metadata.removeValue(forKey: "progress")
        metadata[metadataKey] = .int(leaderId(of: source))
        return metadata
    }

    /// A leader's outcome as its follower records it: the leader's metadata with the follower's `duplicate_of`.
    public static func followerMetadata(leader: [String: JSONValue], follower: [String: JSONValue]) -> [String: JSONValue] {
        var metadata = leader
        metadata[metadataKey] = follower[metadataKey]
        return metadata
    }
}
