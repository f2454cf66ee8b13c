/// Size limits per type (binary units: 10 MB means 10 MiB) and the pixel limit for images.
public struct MediaLimits: Sendable, Equatable {
    public var maxImageBytes: Int64
    public var maxVideoBytes: Int64
    public var maxAudioBytes: Int64
    public var maxImagePixels: Int64

    public static let mebibyte: Int64 = 1_048_576

    public init(
        maxImageBytes: Int64 = 10 * mebibyte,
        maxVideoBytes: Int64 = 100 * mebibyte,
        maxAudioBytes: Int64 = 20 * mebibyte,
        maxImagePixels: Int64 = 100_000_000
    ) {
        self.maxImageBytes = maxImageBytes
        self.maxVideoBytes = maxVideoBytes
        self.maxAudioBytes = maxAudioBytes
        self.maxImagePixels = maxImagePixels
    }

    public func maxBytes(for type: FileType) -> Int64 {
        switch type {
        case .image: maxImageBytes
        case .video: maxVideoBytes
        case .audio: maxAudioBytes
        }
    }

    /// The largest limit of all types: the most an upload can be before its type is known.
    public var largestLimit: Int64 { max(maxImageBytes, maxVideoBytes, maxAudioBytes) }

    /// "10 MB for images": the wording SPEC §1.1 gives the 413 detail.
    public func describeLimit(for type: FileType) -> String {
        let bytes = maxBytes(for: type)
        let size = bytes % Self.mebibyte == 0 ? "\(bytes / Self.mebibyte) MB" : "\(bytes) bytes"
        let plural = switch type {
        case .image: "images"
        case .video: "videos"
        case .audio: "audio"
        }
        return "\(size) for \(plural)"
    }
}
