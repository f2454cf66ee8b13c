/// The colour that covers most of a picture, as `#rrggbb`: a client paints it where a box stands before anything
/// else arrives (or behind a transparent picture).
///
/// Pixels are counted in buckets of 4 bits per channel (4,096 buckets) and the answer is the mean of the fullest
/// bucket's pixels, so a picture that is mostly sky says blue rather than the muddy average of sky and land that a
/// plain mean gives. Pixels less than half opaque do not count; a picture with none left answers its plain mean.
public enum DominantColor {
    public static func of(_ pixels: RGBAPixels) -> String {
        let rgba = pixels.bytes
        let count = pixels.width * pixels.height
        var buckets = [Int32](repeating: 0, count: 4096)
        var sums = [SIMD3<Int64>](repeating: .zero, count: 4096)
        var total = SIMD3<Int64>.zero
        for i in 0..<count {
            let j = i * 4
            let r = rgba[j], g = rgba[j + 1], b = rgba[j + 2]
            let colour = SIMD3<Int64>(Int64(r), Int64(g), Int64(b))
            total &+= colour
            guard rgba[j + 3] >= 128 else { continue }
            let bucket = Int(r >> 4) << 8 | Int(g >> 4) << 4 | Int(b >> 4)
            buckets[bucket] += 1
            sums[bucket] &+= colour
        }
        var fullest = 0
        for bucket in 1..<buckets.count where buckets[bucket] > buckets[fullest] { fullest = bucket }
        let mean = buckets[fullest] > 0
            ? sums[fullest] / SIMD3(repeating: Int64(buckets[fullest]))
            : total / SIMD3(repeating: Int64(max(1, count)))
        return "#" + hex(mean.x) + hex(mean.y) + hex(mean.z)
    }

    private static func hex(_ value: Int64) -> String {
        let digits = Array("0123456789abcdef")
        let byte = Int(min(255, max(0, value)))
        return String([digits[byte >> 4], digits[byte & 15]])
    }
}
