/// The three kinds of media the platform handles; each has its own limits, renditions and processor.
public enum FileType: String, Sendable, Codable, CaseIterable, Hashable {
    case image
    case video
    case audio
}

/// Where a media is in its life. `uploading` is part of the contract (stats report it) even though the
/// streaming Gateway only creates rows once the bytes are stored.
public enum MediaStatus: String, Sendable, Codable, CaseIterable, Hashable {
    case uploading
    case processing
    case ready
    case failed
}
