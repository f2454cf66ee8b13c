/// A container/codec family recognised from a file's first bytes.
public enum MediaFormat: String, Sendable, Codable, CaseIterable, Hashable {
    case jpeg, png, gif, webp, bmp
    case mp4, quicktime, avi, matroska, webm
    case mp3, wav, ogg, aac, m4a

    public var fileType: FileType {
        switch self {
        case .jpeg, .png, .gif, .webp, .bmp: .image
        case .mp4, .quicktime, .avi, .matroska, .webm: .video
        case .mp3, .wav, .ogg, .aac, .m4a: .audio
        }
    }

    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .gif: "image/gif"
        case .webp: "image/webp"
        case .bmp: "image/bmp"
        case .mp4: "video/mp4"
        case .quicktime: "video/quicktime"
        case .avi: "video/x-msvideo"
        case .matroska: "video/x-matroska"
        case .webm: "video/webm"
        case .mp3: "audio/mpeg"
        case .wav: "audio/wav"
        case .ogg: "audio/ogg"
        case .aac: "audio/aac"
        case .m4a: "audio/mp4"
        }
    }

    /// The extension used for the stored original (the client's name never reaches a path).
    public var canonicalExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .quicktime: "mov"
        case .matroska: "mkv"
        default: rawValue
        }
    }
}

/// The file name extensions the upload endpoint accepts, by the type they announce.
public enum SupportedExtensions {
    public static let byType: [FileType: Set<String>] = [
        .image: ["jpg", "jpeg", "jpe", "png", "gif", "webp", "bmp"],
        .video: ["mp4", "m4v", "mov", "qt", "avi", "mkv", "webm"],
        .audio: ["mp3", "wav", "wave", "ogg", "oga", "opus", "aac", "m4a"],
    ]

    /// The type a file name announces, or nil when its extension is none we support.
    public static func fileType(forFilename name: String) -> FileType? {
        guard let dot = name.lastIndex(of: "."), dot != name.index(before: name.endIndex) else { return nil }
        let ext = name[name.index(after: dot)...].lowercased()
        for (type, exts) in byType where exts.contains(ext) { return type }
        return nil
    }
}

extension MediaFormat {
    /// The `Content-Type` of a stored file by its key's extension: originals, renditions (`.jpg`, `.webp`, `.mp4`,
    /// `.mp3`) and the waveform's `.json`. Used when serving a file and when storing one in an object store, which
    /// serves it itself behind a redirect or a CDN.
    public static func contentType(ofKey key: String) -> String {
        let ext = key.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "jpg", "jpeg": return "image/jpeg"
        case "json": return "application/json"
        case "avif": return "image/avif"
        default: return allCases.first { $0.canonicalExtension == ext }?.mimeType ?? "application/octet-stream"
        }
    }
}
