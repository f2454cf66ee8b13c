import Foundation
import MediaDomain

/// The 64-bit DCT perceptual hash of a picture (SPEC §13 `metadata.phash`), as PyPI's `imagehash.phash` makes it:
/// the picture in grey (ITU-R 601 luma, as Pillow's `convert("L")`), resampled to 32 x 32, its two-dimensional
/// DCT-II, the 8 x 8 lowest frequencies compared with their median; bit 63 is the top-left coefficient, row by row.
/// Pictures that look alike (resized, re-encoded, slightly cropped) are a few bits apart; unrelated ones about 32.
///
/// Why from `RGBAPixels`: the producers already hold the picture shrunk to at most 100 pixels for the placeholders,
/// and 32 x 32 is all the hash looks at, so it costs no decode and no resize of the full frame. imagehash shrinks the
/// full picture with Lanczos; area averaging from the 100-pixel copy differs from it by a bit or two, which is inside
/// what "near" means here (the test compares both on the same pictures).
public enum PerceptualHash {
    /// The side of the grey picture the DCT reads.
    static let side = 32
    /// The side of the block of low frequencies kept.
    static let kept = 8

    /// The hash as a number (bit 63 = the DC coefficient's comparison).
    public static func hash(_ pixels: RGBAPixels) -> UInt64 {
        let grey = resampledGrey(pixels)
        var coefficients = lowFrequencies(of: grey)
        // Rounding noise of the cosine sums (a flat picture's AC terms come out at 1e-13, not 0) must not decide
        // bits: anything that small is 0, as scipy's exact zeros are, so a flat picture hashes 8000000000000000 as
        // imagehash's does.
        let noise = 1e-9 * max(1, abs(coefficients[0]))
        for i in coefficients.indices where abs(coefficients[i]) < noise { coefficients[i] = 0 }
        let median = Self.median(coefficients)
        var bits: UInt64 = 0
        for value in coefficients {
            bits = bits << 1 | (value > median ? 1 : 0)
        }
        return bits
    }

    /// 16 lowercase hex digits, as `str(imagehash.phash(...))`.
    public static func hex(_ pixels: RGBAPixels) -> String { hex(hash(pixels)) }

    public static func hex(_ value: UInt64) -> String { Hex.lowercase(value) }

    /// Parses 16 hex digits; nil for anything else.
    public static func parse(_ text: String) -> UInt64? {
        guard text.utf8.count == 16 else { return nil }
        return UInt64(text, radix: 16)
    }

    /// The number of bits two hashes differ in.
    @inline(__always)
    public static func distance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

    // MARK: - Steps

    /// Grey values (0...255, rounded as Pillow rounds) of the picture resampled to `side` x `side`: each target pixel
    /// the coverage-weighted mean of the source pixels under it (area averaging when shrinking, the nearest pixel
    /// when a side is shorter than 32, as for a 1 x N picture).
    static func resampledGrey(_ pixels: RGBAPixels) -> [Double] {
        let width = pixels.width, height = pixels.height
        var luma = [Double](repeating: 0, count: width * height)
        pixels.bytes.withUnsafeBufferPointer { rgba in
            for i in 0..<(width * height) {
                let r = Int(rgba[4 * i]), g = Int(rgba[4 * i + 1]), b = Int(rgba[4 * i + 2])
                // Pillow's integer luma: (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16.
                luma[i] = Double((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        }
        let columns = weights(from: width, to: side)
        let rows = weights(from: height, to: side)
        // Rows first (width x side), then columns (side x side).
        var tall = [Double](repeating: 0, count: width * side)
        for (ty, taps) in rows.enumerated() {
            for (sy, weight) in taps {
                for x in 0..<width { tall[ty * width + x] += luma[sy * width + x] * weight }
            }
        }
        var out = [Double](repeating: 0, count: side * side)
        for ty in 0..<side {
            for (tx, taps) in columns.enumerated() {
                var sum = 0.0
                for (sx, weight) in taps { sum += tall[ty * width + sx] * weight }
                out[ty * side + tx] = sum.rounded()  // Pillow's "L" picture holds whole numbers
            }
        }
        return out
    }

    /// For each of `target` cells over a line of `source` pixels, the pixels under it with the share of the cell
    /// each covers (shares add up to 1).
    static func weights(from source: Int, to target: Int) -> [[(Int, Double)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { t in
            let start = Double(t) * scale, end = Double(t + 1) * scale
            var taps: [(Int, Double)] = []
            var s = Int(start)
            while Double(s) < end && s < source {
                let covered = min(end, Double(s + 1)) - max(start, Double(s))
                if covered > 0 { taps.append((s, covered / scale)) }
                s += 1
            }
            return taps
        }
    }

    /// The `kept` x `kept` lowest-frequency coefficients of the unnormalised 2-D DCT-II (scipy's `dct` along rows, then
    /// columns), row by row. A constant factor does not change which are above the median.
    static func lowFrequencies(of grey: [Double]) -> [Double] {
        let n = side
        let cosines = (0..<kept).map { k in
            (0..<n).map { i in cos(Double.pi * Double(k) * Double(2 * i + 1) / Double(2 * n)) }
        }
        // Along columns (axis 0): for each frequency row k and column x.
        var first = [Double](repeating: 0, count: kept * n)
        for k in 0..<kept {
            for x in 0..<n {
                var sum = 0.0
                for y in 0..<n { sum += grey[y * n + x] * cosines[k][y] }
                first[k * n + x] = sum
            }
        }
        var out = [Double](repeating: 0, count: kept * kept)
        for k in 0..<kept {
            for l in 0..<kept {
                var sum = 0.0
                for x in 0..<n { sum += first[k * n + x] * cosines[l][x] }
                out[k * kept + l] = sum
            }
        }
        return out
    }

    /// numpy's median: the mean of the two middle values of an even count.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 0 ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }
}
