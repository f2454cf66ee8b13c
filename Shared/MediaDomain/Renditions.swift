/// What the processors make of each type, by rendition name (SPEC §2). The Gateway uses this to show a
/// `urls` key per rendition before they exist; processors use the specs to make them.
public enum RenditionCatalog {
    public static func names(for type: FileType) -> [String] {
        switch type {
        case .image: ["thumbnail", "small", "medium", "large", "webp", "avif"]
        case .video: ["thumbnail", "poster", "video"]
        case .audio: ["audio", "waveform"]
        }
    }

    /// Renditions that appear only when the input allows (audio cover art).
    public static func optionalNames(for type: FileType) -> [String] {
        type == .audio ? ["thumbnail"] : []
    }

    /// The rendition that becomes `display_url` once the media is ready.
    public static func displayName(for type: FileType) -> String {
        switch type {
        case .image: "medium"
        case .video: "video"
        case .audio: "audio"
        }
    }

    /// Image renditions: geometry and encoding.
    public static let image: [ImageRenditionSpec] = [
        .init(name: "thumbnail", geometry: .cover(width: 150, height: 150), encoding: .jpeg(quality: 85)),
        .init(name: "small", geometry: .fit(maxSide: 320), encoding: .jpeg(quality: 85)),
        .init(name: "medium", geometry: .fit(maxSide: 640), encoding: .jpeg(quality: 85)),
        .init(name: "large", geometry: .fit(maxSide: 1080), encoding: .jpeg(quality: 85)),
        .init(name: "webp", geometry: .fit(maxSide: 640), encoding: .webp(quality: 80)),
    ]

    /// The AVIF rendition of SPEC §12 (`urls.avif`), made beside `image` unless `MEDIA_IMAGE_AVIF=false`. Effort 0
    /// (libaom's fastest) adds 2-11 ms of CPU to a 12 MP JPEG's job (imaging-bench with and without `--no-avif`);
    /// the default effort 4 made a 640-pixel AVIF about half the size but took several times as long with the `vips`
    /// CLI, and upload → `ready` latency decides.
    public static let imageAVIF = ImageRenditionSpec(
        name: "avif", geometry: .fit(maxSide: 640), encoding: .avif(quality: 50, effort: 0))
}

/// One image rendition: its name, geometry and encoding. The ImageService renders exactly these (Imaging takes
/// them as they are), so SPEC §2's sizes live in one place.
public struct ImageRenditionSpec: Sendable, Hashable {
    /// How the output's pixel size is derived from the upright source. Neither geometry ever upscales.
    public enum Geometry: Sendable, Hashable {
        /// Scale to cover `width`x`height`, then crop the centre to exactly that box. When the source is smaller
        /// than the box in either dimension, the largest centred region with the box's aspect ratio is cut out
        /// at 1:1 instead (a 60x40 source gives a 40x40 thumbnail for a 150x150 box).
        case cover(width: Int, height: Int)
        /// Longer side at most `maxSide`, aspect kept.
        case fit(maxSide: Int)
    }

    /// The encoding of an output. Metadata is always stripped.
    public enum Encoding: Sendable, Hashable {
        /// Baseline JPEG with optimised Huffman tables; alpha is flattened onto white.
        case jpeg(quality: Int)
        /// Lossy WebP; alpha is kept.
        case webp(quality: Int)
        /// Lossy AVIF (AV1 in HEIF), 8-bit 4:2:0; alpha is kept. `effort` 0 (fastest) to 9.
        case avif(quality: Int, effort: Int)

        public var mimeType: String {
            switch self {
            case .jpeg: "image/jpeg"
            case .webp: "image/webp"
            case .avif: "image/avif"
            }
        }

        /// The stored file's extension.
        public var fileExtension: String {
            switch self {
            case .jpeg: "jpg"
            case .webp: "webp"
            case .avif: "avif"
            }
        }
    }

    public var name: String
    public var geometry: Geometry
    public var encoding: Encoding

    public init(name: String, geometry: Geometry, encoding: Encoding) {
        self.name = name
        self.geometry = geometry
        self.encoding = encoding
    }
}

/// A stored rendition as the Gateway records it and the `media.ready` event carries it.
public struct RenditionInfo: Sendable, Codable, Equatable {
    public var key: String
    public var mimeType: String
    public var width: Int?
    public var height: Int?
    public var fileSize: Int64

    enum CodingKeys: String, CodingKey {
        case key
        case mimeType = "mime_type"
        case width, height
        case fileSize = "file_size"
    }

    public init(key: String, mimeType: String, width: Int?, height: Int?, fileSize: Int64) {
        self.key = key
        self.mimeType = mimeType
        self.width = width
        self.height = height
        self.fileSize = fileSize
    }

    /// From its stored JSON (the `Codable` form); nil when a required member is missing or mistyped.
    public init?(json: JSONValue) {
        guard let key = json["key"]?.stringValue, let mimeType = json["mime_type"]?.stringValue,
              let fileSize = json["file_size"]?.intValue
        else { return nil }
        self.init(key: key, mimeType: mimeType, width: json["width"]?.intValue.map(Int.init),
                  height: json["height"]?.intValue.map(Int.init), fileSize: fileSize)
    }
}

/// Storage keys: everything of one media lives under one prefix, renditions under a folder per
/// generation, so a reprocess never overwrites files a client may have cached and a delete is one
/// prefix removal.
public enum StorageKeys {
    public static func original(folder: String, format: MediaFormat) -> String {
        "media/\(folder)/original.\(format.canonicalExtension)"
    }

    /// The folder holding every file of the media whose original is `originalKey`.
    public static func mediaPrefix(ofOriginal originalKey: String) -> String {
        guard let slash = originalKey.lastIndex(of: "/") else { return originalKey + "/" }
        return String(originalKey[...slash])
    }

    /// The folder (`media/<folder>/`) of any key of a media: its original or a rendition of any generation.
    public static func mediaFolder(of key: String) -> String? {
        mediaFolderName(of: key).map { "media/\($0)/" }
    }

    /// The folder name (`<folder>` of `media/<folder>/…`) of any key of a media, as the database indexes it.
    public static func mediaFolderName(of key: String) -> String? {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "media", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// Where an infected original is kept out of the served files (SPEC §13): `quarantine/<folder>/<name>`, outside the
    /// `media/` tree that file serving and the orphan sweep walk.
    public static func quarantine(ofOriginal key: String) -> String {
        key.hasPrefix("media/") ? "quarantine/" + key.dropFirst("media/".count) : "quarantine/" + key
    }

    public static func rendition(original: String, generation: Int, name: String, ext: String) -> String {
        "\(mediaPrefix(ofOriginal: original))g\(generation)/\(name).\(ext)"
    }
}
