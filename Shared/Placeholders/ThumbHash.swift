import Foundation

/// ThumbHash (Evan Wallace's format, https://evanw.github.io/thumbhash/): a ~25-byte DCT summary of a picture that a
/// client decodes into a blurred placeholder with the picture's aspect ratio, colours and alpha, before any file
/// arrives. This is a port of the reference `rgbaToThumbHash`, rounding as JavaScript's `Math.round` does, so the
/// bytes are the reference encoder's for the same pixels.
public enum ThumbHash {
    /// The largest side the encoder takes; a larger picture costs time for no better hash.
    public static let maxSide = 100

    /// The hash's bytes. `pixels` must fit within `maxSide` x `maxSide` (callers shrink first); a larger picture is
    /// refused with nil rather than encoded slowly.
    public static func encode(_ pixels: RGBAPixels) -> [UInt8]? {
        let w = pixels.width, h = pixels.height
        guard w <= maxSide, h <= maxSide else { return nil }
        let count = w * h
        let rgba = pixels.bytes

        // The average colour, weighted by alpha.
        var avgR = 0.0, avgG = 0.0, avgB = 0.0, avgA = 0.0
        for i in 0..<count {
            let j = i * 4
            let alpha = Double(rgba[j + 3]) / 255
            avgR += alpha / 255 * Double(rgba[j])
            avgG += alpha / 255 * Double(rgba[j + 1])
            avgB += alpha / 255 * Double(rgba[j + 2])
            avgA += alpha
        }
        if avgA > 0 {
            avgR /= avgA
            avgG /= avgA
            avgB /= avgA
        }

        let hasAlpha = avgA < Double(count)
        let luminanceLimit = hasAlpha ? 5.0 : 7.0
        let longer = Double(max(w, h))
        let lx = max(1, jsRound(luminanceLimit * Double(w) / longer))
        let ly = max(1, jsRound(luminanceLimit * Double(h) / longer))

        // RGBA to LPQA, composited over the average colour.
        var l = [Double](repeating: 0, count: count)
        var p = [Double](repeating: 0, count: count)
        var q = [Double](repeating: 0, count: count)
        var a = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let j = i * 4
            let alpha = Double(rgba[j + 3]) / 255
            let r = avgR * (1 - alpha) + alpha / 255 * Double(rgba[j])
            let g = avgG * (1 - alpha) + alpha / 255 * Double(rgba[j + 1])
            let b = avgB * (1 - alpha) + alpha / 255 * Double(rgba[j + 2])
            l[i] = (r + g + b) / 3
            p[i] = (r + g) / 2 - b
            q[i] = r - g
            a[i] = alpha
        }

        let cosines = CosineTable(width: w, height: h)
        let (lDC, lAC, lScale) = encodeChannel(l, nx: max(3, lx), ny: max(3, ly), cosines: cosines)
        let (pDC, pAC, pScale) = encodeChannel(p, nx: 3, ny: 3, cosines: cosines)
        let (qDC, qAC, qScale) = encodeChannel(q, nx: 3, ny: 3, cosines: cosines)
        let alphaChannel = hasAlpha ? encodeChannel(a, nx: 5, ny: 5, cosines: cosines) : nil

        let isLandscape = w > h
        let header24 = jsRound(63 * lDC) | (jsRound(31.5 + 31.5 * pDC) << 6) | (jsRound(31.5 + 31.5 * qDC) << 12)
            | (jsRound(31 * lScale) << 18) | ((hasAlpha ? 1 : 0) << 23)
        let header16 = (isLandscape ? ly : lx) | (jsRound(63 * pScale) << 3) | (jsRound(63 * qScale) << 9)
            | ((isLandscape ? 1 : 0) << 15)
        var hash: [UInt8] = [
            UInt8(header24 & 255), UInt8((header24 >> 8) & 255), UInt8((header24 >> 16) & 255),
            UInt8(header16 & 255), UInt8((header16 >> 8) & 255),
        ]
        if let alphaChannel {
            hash.append(UInt8((jsRound(15 * alphaChannel.dc) | (jsRound(15 * alphaChannel.scale) << 4)) & 255))
        }
        // The varying factors, two 4-bit values per byte, low nibble first.
        var nibble = 0
        let start = hash.count
        for ac in [lAC, pAC, qAC, alphaChannel?.ac ?? []] {
            for f in ac {
                let index = start + (nibble >> 1)
                if index == hash.count { hash.append(0) }
                hash[index] |= UInt8((jsRound(15 * f) & 15) << ((nibble & 1) << 2))
                nibble += 1
            }
        }
        return hash
    }

    /// `encode` as standard base64 (with padding), the form `metadata.thumbhash` carries.
    public static func encodeBase64(_ pixels: RGBAPixels) -> String? {
        encode(pixels).map { Data($0).base64EncodedString() }
    }

    /// The DC term, the normalised AC terms (0...1) and their scale of one channel.
    private static func encodeChannel(
        _ channel: [Double], nx: Int, ny: Int, cosines: CosineTable
    ) -> (dc: Double, ac: [Double], scale: Double) {
        let w = cosines.width, h = cosines.height
        var dc = 0.0, scale = 0.0
        var ac: [Double] = []
        var rowSums = [Double](repeating: 0, count: h)
        for cy in 0..<ny {
            var cx = 0
            while cx * ny < nx * (ny - cy) {
                // Separable: sum each row against the horizontal cosine, then the rows against the vertical one.
                for y in 0..<h {
                    var sum = 0.0
                    let row = y * w
                    for x in 0..<w { sum += channel[row + x] * cosines.x(cx, x) }
                    rowSums[y] = sum
                }
                var f = 0.0
                for y in 0..<h { f += rowSums[y] * cosines.y(cy, y) }
                f /= Double(w * h)
                if cx > 0 || cy > 0 {
                    ac.append(f)
                    scale = max(scale, abs(f))
                } else {
                    dc = f
                }
                cx += 1
            }
        }
        if scale > 0 {
            for i in ac.indices { ac[i] = 0.5 + 0.5 / scale * ac[i] }
        }
        return (dc, ac, scale)
    }

    /// JavaScript's `Math.round`: halves go up (Swift's `.rounded()` takes them away from zero).
    private static func jsRound(_ value: Double) -> Int {
        Int((value + 0.5).rounded(.down))
    }

    /// `cos(π / n · k · (i + 0.5))` for every frequency the encoder uses (at most 7) and every column and row.
    private struct CosineTable {
        let width: Int
        let height: Int
        private let columns: [Double]
        private let rows: [Double]
        private static let frequencies = 8

        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            columns = Self.table(width)
            rows = Self.table(height)
        }

        func x(_ frequency: Int, _ column: Int) -> Double { columns[frequency * width + column] }
        func y(_ frequency: Int, _ row: Int) -> Double { rows[frequency * height + row] }

        private static func table(_ n: Int) -> [Double] {
            var values = [Double](repeating: 0, count: frequencies * n)
            for k in 0..<frequencies {
                for i in 0..<n { values[k * n + i] = cos(Double.pi / Double(n) * Double(k) * (Double(i) + 0.5)) }
            }
            return values
        }
    }
}
