import Foundation
import Imaging
import MediaDomain
import Placeholders
import Testing
import TestSupport

/// SPEC §12's placeholders as a client sees them. PyPI's `thumbhash` (0.1.2) is the reference: its encoder, fed the
/// same upright pixels, gives the same bytes (opaque pictures: its alpha branch has an operator-precedence bug), and
/// its average colour of our hash is the picture's. Its decoder cannot judge structure: it never clears the cosine
/// lists between pixels, so every pixel is drawn with the first one's and every placeholder decodes flat. The
/// structure is checked with a straight port of the JavaScript reference decoder (`thumbHashToRGBA`) instead: the
/// decoded picture must be closer to the source than a flat picture of its mean, upright, with its alpha.
@Suite("Placeholders: ThumbHash and dominant colour")
struct PlaceholderTests {
    struct Comparison: Decodable {
        let width: Int
        let height: Int
        let mae: Double
        let flatMae: Double
        let left: [Double]
        let right: [Double]
        let sourceMean: [Double]
        let referenceAverage: [Double]
        let hasAlpha: Bool
        /// The reference encoder's bytes for the same upright pixels (nil for pictures with alpha, see above).
        let referenceHash: [Int]?
        let hash: [Int]

        enum CodingKeys: String, CodingKey {
            case width, height, mae, left, right, hash
            case flatMae = "flat_mae", sourceMean = "source_mean", hasAlpha = "has_alpha"
            case referenceAverage = "reference_average", referenceHash = "reference_hash"
        }
    }

    static let script = """
        import base64, json, math, sys
        import thumbhash
        from PIL import Image, ImageOps

        def decode(hb):  # the JavaScript reference's thumbHashToRGBA, line for line
            h24 = hb[0] | hb[1] << 8 | hb[2] << 16
            h16 = hb[3] | hb[4] << 8
            l_dc, p_dc, q_dc = (h24 & 63) / 63, ((h24 >> 6) & 63) / 31.5 - 1, ((h24 >> 12) & 63) / 31.5 - 1
            l_scale, has_alpha = ((h24 >> 18) & 31) / 31, h24 >> 23
            p_scale, q_scale, landscape = ((h16 >> 3) & 63) / 63, ((h16 >> 9) & 63) / 63, h16 >> 15
            lx = max(3, (5 if has_alpha else 7) if landscape else h16 & 7)
            ly = max(3, h16 & 7 if landscape else (5 if has_alpha else 7))
            a_dc, a_scale = ((hb[5] & 15) / 15, (hb[5] >> 4) / 15) if has_alpha else (1, 0)
            start, index = (6 if has_alpha else 5), [0]
            def channel(nx, ny, scale):
                ac = []
                for cy in range(ny):
                    cx = 0 if cy else 1
                    while cx * ny < nx * (ny - cy):
                        ac.append((((hb[start + (index[0] >> 1)] >> ((index[0] & 1) << 2)) & 15) / 7.5 - 1) * scale)
                        index[0] += 1
                        cx += 1
                return ac
            l_ac, p_ac, q_ac = channel(lx, ly, l_scale), channel(3, 3, p_scale * 1.25), channel(3, 3, q_scale * 1.25)
            a_ac = channel(5, 5, a_scale) if has_alpha else None
            rx = (5 if has_alpha else 7) if landscape else h16 & 7
            ry = h16 & 7 if landscape else (5 if has_alpha else 7)
            ratio = rx / ry
            w, h = (32, round(32 / ratio)) if ratio > 1 else (round(32 * ratio), 32)
            out = []
            for y in range(h):
                for x in range(w):
                    l, p, q, a = l_dc, p_dc, q_dc, a_dc
                    fx = [math.cos(math.pi / w * (x + 0.5) * cx) for cx in range(max(lx, 5 if has_alpha else 3))]
                    fy = [math.cos(math.pi / h * (y + 0.5) * cy) for cy in range(max(ly, 5 if has_alpha else 3))]
                    j = 0
                    for cy in range(ly):
                        cx, fy2 = (0 if cy else 1), fy[cy] * 2
                        while cx * ly < lx * (ly - cy):
                            l += l_ac[j] * fx[cx] * fy2
                            j, cx = j + 1, cx + 1
                    j = 0
                    for cy in range(3):
                        cx, fy2 = (0 if cy else 1), fy[cy] * 2
                        while cx < 3 - cy:
                            p += p_ac[j] * fx[cx] * fy2
                            q += q_ac[j] * fx[cx] * fy2
                            j, cx = j + 1, cx + 1
                    if has_alpha:
                        j = 0
                        for cy in range(5):
                            cx, fy2 = (0 if cy else 1), fy[cy] * 2
                            while cx < 5 - cy:
                                a += a_ac[j] * fx[cx] * fy2
                                j, cx = j + 1, cx + 1
                    b = l - 2 / 3 * p
                    r = (3 * l - b + q) / 2
                    g = r - q
                    out.append(tuple(max(0, round(255 * min(1, v))) for v in (r, g, b, a)))
            return w, h, out, has_alpha

        hb = list(base64.b64decode(sys.argv[1]))
        w, h, d, has_alpha = decode(hb)
        upright = ImageOps.exif_transpose(Image.open(sys.argv[2])).convert("RGBA")
        s = list(upright.resize((w, h), Image.BOX).getdata())
        n = w * h
        mean = lambda px: [sum(p[c] for p in px) / len(px) for c in range(4)]
        smean = mean(s)
        mae = sum(abs(a[c] - b[c]) for a, b in zip(s, d) for c in range(4)) / (n * 4)
        flat = sum(abs(a[c] - smean[c]) for a in s for c in range(4)) / (n * 4)
        cols = lambda x0, x1: [d[y * w + x] for y in range(h) for x in range(x0, x1)]
        third = max(1, w // 3)
        small = upright.copy()
        small.thumbnail((100, 100))
        reference = None
        if not has_alpha:
            pixels = [v for px in small.getdata() for v in px]
            reference = thumbhash.rgba_to_thumb_hash(small.width, small.height, pixels)
        print(json.dumps({"width": w, "height": h, "mae": mae, "flat_mae": flat, "left": mean(cols(0, third)),
                          "right": mean(cols(w - third, w)), "source_mean": smean, "has_alpha": bool(has_alpha),
                          "reference_average": [255 * v for v in thumbhash.thumb_hash_to_average_rgba(hb)],
                          "reference_hash": reference, "hash": hb}))
        """

    func compare(_ placeholder: ImagePlaceholder, with fixture: String) throws -> Comparison {
        let result = try runCapturing("/usr/bin/env", ["python3", "-c", Self.script, placeholder.thumbhash, try Fixtures.path(fixture)])
        #expect(result.status == 0, "the reference decoder: \(result.output)")
        let line = result.output.split(separator: "\n").last.map(String.init) ?? ""
        return try JSONDecoder().decode(Comparison.self, from: Data(line.utf8))
    }

    @Test func aThumbHashIsTheReferencesAndDecodesToAPictureCloseToTheSource() throws {
        let image = try processFixture("progressive.jpg")
        let placeholder = try #require(image.placeholder)
        let decoded = try compare(placeholder, with: "progressive.jpg")
        // The reference encoder on the same picture: the same header (sizes, DC terms, scales), and every AC nibble
        // within one step (libvips' and Pillow's 100-pixel shrinks differ by a few levels).
        let reference = try #require(decoded.referenceHash)
        #expect(decoded.hash.count == reference.count)
        #expect(zip(decoded.hash.prefix(5), reference.prefix(5)).allSatisfy { abs($0 - $1) <= 2 },
                "header \(decoded.hash.prefix(5)) vs \(reference.prefix(5))")
        let nibbles = { (bytes: [Int]) in bytes.dropFirst(5).flatMap { [$0 & 15, $0 >> 4] } }
        #expect(zip(nibbles(decoded.hash), nibbles(reference)).allSatisfy { abs($0 - $1) <= 1 },
                "AC \(decoded.hash) vs \(reference)")
        // 2000x1500: the decoded placeholder keeps the aspect ratio.
        #expect(abs(Double(decoded.width) / Double(decoded.height) - 4.0 / 3.0) < 0.15, "\(decoded)")
        for c in 0..<3 {
            #expect(abs(decoded.referenceAverage[c] - decoded.sourceMean[c]) < 8, "channel \(c): \(decoded)")
        }
        // Structure, not only a colour: closer to the picture than a flat picture of its mean colour is.
        #expect(decoded.mae < 0.9 * decoded.flatMae, "\(decoded)")
        #expect(!decoded.hasAlpha)
    }

    @Test func theThumbHashIsOfTheUprightPicture() throws {
        // Stored landscape with a red band along its top; EXIF orientation 6 turns that band to the right edge.
        let image = try processFixture("exif6_gps.jpg")
        let decoded = try compare(try #require(image.placeholder), with: "exif6_gps.jpg")
        #expect(decoded.height > decoded.width, "portrait once upright: \(decoded)")
        #expect(decoded.right[0] > decoded.left[0] + 40, "the red band is on the right: \(decoded)")
        #expect(decoded.mae < 0.9 * decoded.flatMae, "\(decoded)")
    }

    @Test func transparencyIsInTheThumbHash() throws {
        // Left half transparent, right half opaque green.
        let image = try processFixture("alpha.png")
        let decoded = try compare(try #require(image.placeholder), with: "alpha.png")
        #expect(decoded.hasAlpha)
        #expect(decoded.left[3] < 100 && decoded.right[3] > 180, "alpha left and right: \(decoded)")
        let green = try #require(image.placeholder.flatMap { Self.rgb($0.dominantColor) })
        #expect(green.0 < 10 && abs(green.1 - 200) <= 4 && green.2 < 10, "the opaque half's green: \(green)")
    }

    @Test func theDominantColourIsWhatMostOfThePictureIs() throws {
        // The fixture scene: blue (30, 60, 200) crossed by thin yellow lines.
        let image = try processFixture("progressive.jpg")
        let colour = try #require(image.placeholder?.dominantColor)
        let rgb = try #require(Self.rgb(colour))
        #expect(abs(rgb.0 - 30) <= 12 && abs(rgb.1 - 60) <= 12 && abs(rgb.2 - 200) <= 12, "\(colour)")

        // 70 % sky, 30 % grass: the sky's colour, not the mean of both.
        var bytes: [UInt8] = []
        for y in 0..<10 { for _ in 0..<10 { bytes += y < 7 ? [48, 128, 224, 255] : [40, 160, 40, 255] } }
        #expect(DominantColor.of(try #require(RGBAPixels(width: 10, height: 10, bytes: bytes))) == "#3080e0")
    }

    @Test func degenerateSizesGetAPlaceholderToo() throws {
        for fixture in ["one.png", "panorama.jpg", "small.jpg", "grey.jpg", "transparent.gif", "rgb16.png", "cmyk.jpg"] {
            let image = try processFixture(fixture)
            let placeholder = try #require(image.placeholder, "\(fixture)")
            let hash = try #require(Data(base64Encoded: placeholder.thumbhash), "\(fixture)")
            #expect((5...25).contains(hash.count), "\(fixture): \(hash.count) bytes")
            #expect(placeholder.dominantColor.count == 7 && placeholder.dominantColor.hasPrefix("#"), "\(fixture)")
        }
        #expect(try processFixture("one.png").placeholder?.dominantColor == "#0a141e")
        #expect(try processFixture("cmyk.jpg").placeholder.flatMap { Self.rgb($0.dominantColor) }.map { $0.0 > 200 && $0.1 < 60 } == true,
                "CMYK red comes out red")
    }

    @Test func aStoredRenditionGivesThePlaceholderTheJobWouldHaveGiven() throws {
        // The Janitor's backfill reads the `small` rendition; the job hashes the same pixels before encoding them.
        let image = try processFixture("progressive.jpg")
        let fromJob = try #require(image.placeholder)
        let fromStored = try #require(try StoredPicturePlaceholder.make(encoded: try image.rendition("small").data))
        let decodedJob = try compare(fromJob, with: "progressive.jpg")
        let decodedStored = try compare(fromStored, with: "progressive.jpg")
        #expect(abs(decodedJob.mae - decodedStored.mae) < 3, "\(decodedJob) vs \(decodedStored)")
        #expect(fromStored.dominantColor.count == 7)
        #expect(throws: ImagingError.self) { try StoredPicturePlaceholder.make(encoded: Array("not a picture".utf8)) }
    }

    static func rgb(_ hex: String) -> (Int, Int, Int)? {
        guard hex.count == 7, let value = Int(hex.dropFirst(), radix: 16) else { return nil }
        return (value >> 16, (value >> 8) & 255, value & 255)
    }
}
