/// The descriptive tags of an audio file, gathered from the container and the audio stream.
///
/// libav already maps format-specific keys to common names (ID3 `TIT2`→`title`, MP4 `©ART`→`artist`, RIFF
/// `IPRD`→`album`); what is left is case (Vorbis comments are often `TITLE`) and where they live (Ogg keeps
/// them on the stream, MP3/M4A on the container). Container values win over stream values.
public struct AudioTags: Sendable, Equatable {
    /// The tags the MP3 rendition carries (SPEC §2).
    public static let carried = ["title", "artist", "album"]
    /// Every tag reported in metadata (lower-case keys).
    public static let reported = ["title", "artist", "album", "album_artist", "date", "genre", "track", "composer"]

    /// Lower-case key → value, only non-empty values of `reported` keys.
    public var values: [String: String]

    public init(values: [String: String]) {
        self.values = values
    }

    /// Merges `container` and `stream` dictionaries (any key case), keeping only `reported` keys.
    init(container: [String: String], stream: [String: String]) {
        var values: [String: String] = [:]
        for source in [stream, container] {  // container last: it wins
            for (key, value) in source {
                let name = Self.normalisedKey(key)
                let trimmed = value.trimmingWhitespace()
                if Self.reported.contains(name), !trimmed.isEmpty { values[name] = trimmed }
            }
        }
        self.values = values
    }

    public var title: String? { values["title"] }
    public var artist: String? { values["artist"] }
    public var album: String? { values["album"] }

    /// The tags to write into the output container.
    var carriedValues: [(String, String)] {
        Self.carried.compactMap { key in values[key].map { (key, $0) } }
    }

    private static func normalisedKey(_ key: String) -> String {
        let lower = key.lowercased()
        switch lower {
        case "albumartist", "album artist": return "album_artist"
        case "year": return "date"
        case "tracknumber": return "track"
        default: return lower
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace || first == "\0" { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace || last == "\0" { scalars.removeLast() }
        return String(scalars)
    }
}
