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

    /// `interleaved` (1 to 4 bands of 8 bits, `rowBytes` apart) shrunk by area averaging to `targetWidth` x
    /// `targetHeight` (each at most the source's): what a placeholder needs from a frame already decoded, without
    /// asking the image library for another pass. Colour is averaged weighted by alpha, so transparent pixels lend
    /// no colour to their neighbours.
    public init?(
        width: Int, height: Int, bands: Int, rowBytes: Int, interleaved: UnsafeRawBufferPointer,
        targetWidth: Int, targetHeight: Int
    ) {
        guard width > 0, height > 0, (1...4).contains(bands), rowBytes >= width * bands,
              interleaved.count >= rowBytes * (height - 1) + width * bands,
              (1...width).contains(targetWidth), (1...height).contains(targetHeight)
        else { return nil }
        let hasAlpha = bands == 2 || bands == 4
        var out = [UInt8](repeating: 0, count: targetWidth * targetHeight * 4)
        for ty in 0..<targetHeight {
            let y0 = ty * height / targetHeight, y1 = max(y0 + 1, (ty + 1) * height / targetHeight)
            for tx in 0..<targetWidth {
                let x0 = tx * width / targetWidth, x1 = max(x0 + 1, (tx + 1) * width / targetWidth)
                var r = 0, g = 0, b = 0, a = 0, n = 0
                for y in y0..<y1 {
                    var index = y * rowBytes + x0 * bands
                    for _ in x0..<x1 {
                        let alpha = hasAlpha ? Int(interleaved[index + bands - 1]) : 255
                        if bands >= 3 {
                            r += Int(interleaved[index]) * alpha
                            g += Int(interleaved[index + 1]) * alpha
                            b += Int(interleaved[index + 2]) * alpha
                        } else {
                            let grey = Int(interleaved[index]) * alpha
                            r += grey; g += grey; b += grey
                        }
                        a += alpha
                        n += 1
                        index += bands
                    }
                }
                let o = (ty * targetWidth + tx) * 4
                if a > 0 {
                    out[o] = UInt8((r + a / 2) / a)
                    out[o + 1] = UInt8((g + a / 2) / a)
                    out[o + 2] = UInt8((b + a / 2) / a)
                }
                out[o + 3] = UInt8((a + n / 2) / n)
            }
        }
        self.init(width: targetWidth, height: targetHeight, bytes: out)
    }
}
