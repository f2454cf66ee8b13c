/// One output to render from a source image: its name, geometry and encoding.
public struct ImageOutputSpec: Sendable, Hashable {
    /// How the output's pixel size is derived from the upright source. Neither geometry ever upscales.
    public enum Geometry: Sendable, Hashable {
        /// Scale to cover `width`x`height`, then crop the centre to exactly that box. When the source is smaller
        /// than the box in either dimension, the largest centred region with the box's aspect ratio is cut out
        /// at 1:1 instead (a 60x40 source gives a 40x40 thumbnail for a 150x150 box).
        case cover(width: Int, height: Int)
        /// Scale so the longer side is at most `maxSide`, keeping the aspect ratio.
        case fit(maxSide: Int)
    }

    /// The encoding of an output. Metadata is always stripped.
    public enum Format: Sendable, Hashable {
        /// Baseline JPEG with optimised Huffman tables; alpha is flattened onto white.
        case jpeg(quality: Int)
        /// Lossy WebP; alpha is kept.
        case webp(quality: Int)

        /// The MIME type of outputs in this format.
        public var mimeType: String {
            switch self {
            case .jpeg: "image/jpeg"
            case .webp: "image/webp"
            }
        }
    }

    /// The caller's name for the output (e.g. `thumbnail`), copied to the `RenderedImage`.
    public var name: String
    /// The output's pixel size rule.
    public var geometry: Geometry
    /// The output's encoding.
    public var format: Format

    /// Creates an output spec.
    public init(name: String, geometry: Geometry, format: Format) {
        self.name = name
        self.geometry = geometry
        self.format = format
    }
}
