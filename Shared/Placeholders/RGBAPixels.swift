/// A small picture as 8-bit RGBA, row by row: what the placeholders are computed from. Producers (libvips for
/// images, libav for video posters and cover art) shrink their picture to fit `ThumbHash.maxSide` first, so that a
/// placeholder costs a few hundred microseconds whatever the source's size.
public struct RGBAPixels: Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 4` bytes: red, green, blue, alpha (straight, not premultiplied).
    public let bytes: [UInt8]

    /// Nil when `bytes` does not hold exactly `width * height` pixels or a side is zero.
    public init?(width: Int, height: Int, bytes: [UInt8]) {
        guard width > 0, height > 0, bytes.count == width * height * 4 else { return nil }
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// From 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) interleaved 8-bit bands; nil for another band count or
    /// a buffer of the wrong size.
    public init?(width: Int, height: Int, bands: Int, interleaved: UnsafeRawBufferPointer) {
        let count = width * height
        guard width > 0, height > 0, (1...4).contains(bands), interleaved.count == count * bands else { return nil }
        var rgba = [UInt8](repeating: 255, count: count * 4)
        for i in 0..<count {
            let source = i * bands, target = i * 4
            switch bands {
            case 1, 2:
                let grey = interleaved[source]
                rgba[target] = grey
                rgba[target + 1] = grey
                rgba[target + 2] = grey
                if bands == 2 { rgba[target + 3] = interleaved[source + 1] }
            default:
                rgba[target] = interleaved[source]
                rgba[target + 1] = interleaved[source + 1]
                rgba[target + 2] = interleaved[source + 2]
                if bands == 4 { rgba[target + 3] = interleaved[source + 3] }
            }
        }
        self.init(width: width, height: height, bytes: rgba)
    }
}
