import Foundation
import Imaging
import Placeholders
import Testing
import TestSupport

/// SPEC §13's `metadata.phash` as the product makes it (the image pipeline, from the frame it already holds), judged
/// against PyPI's `imagehash.phash` on the same files: a photo resized to 50 %, re-encoded at quality 60 and cropped by
/// 5 % stays within distance 10 of the original; twenty unrelated pictures do not; and both hashes rank the set alike.
@Suite("Perceptual hash (near-duplicates)")
struct PerceptualHashTests {
    /// Writes the pictures (Pillow, seeded) and prints `imagehash.phash` of each as JSON.
    static let script = """
        import json, random, sys
        import imagehash
        from PIL import Image, ImageDraw, ImageFilter

        out = sys.argv[1]
        def picture(seed, size=(1600, 1200)):
            rng = random.Random(seed)
            img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
            draw = ImageDraw.Draw(img)
            for _ in range(40):
                x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
                x1, y1 = x0 + rng.randrange(100, 900), y0 + rng.randrange(100, 700)
                colour = tuple(rng.randrange(256) for _ in range(3))
                (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
            return img.filter(ImageFilter.GaussianBlur(3))

        original = picture(1)
        files = {}
        def save(name, img, **kw):
            img.save(f"{out}/{name}", "JPEG", **kw)
            files[name] = str(imagehash.phash(Image.open(f"{out}/{name}")))
        save("original.jpg", original, quality=92)
        save("half.jpg", original.resize((800, 600), Image.LANCZOS), quality=92)
        save("q60.jpg", original, quality=60)
        w, h = original.size
        save("crop.jpg", original.crop((w * 5 // 200, h * 5 // 200, w - w * 5 // 200, h - h * 5 // 200)), quality=92)
        for seed in range(100, 120):
            save(f"other-{seed}.jpg", picture(seed))
        print(json.dumps(files))
        """

    @Test func nearCopiesAreNearAndUnrelatedPicturesAreNotAsImagehashSees() throws {
        let directory = NSTemporaryDirectory() + "phash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try runCapturing("/usr/bin/env", ["python3", "-c", Self.script, directory])
        try #require(made.status == 0, "the pictures and imagehash (the test's venv): \(made.output)")
        let line = made.output.split(separator: "\n").last.map(String.init) ?? ""
        let reference = try JSONDecoder().decode([String: String].self, from: Data(line.utf8)).compactMapValues(PerceptualHash.parse)
        try #require(reference.count == 24, "\(made.output)")

        var ours: [String: UInt64] = [:]
        for name in reference.keys {
            let image = try ImagePipeline().process(file: "\(directory)/\(name)", outputs: standardRenditions, limits: ImageProcessingLimits())
            let hex = try #require(image.placeholder?.phash, "\(name) has a perceptual hash")
            #expect(hex.count == 16 && hex == hex.lowercased(), "\(hex)")
            ours[name] = PerceptualHash.parse(hex)
        }
        let original = try #require(ours["original.jpg"])
        let near = ["half.jpg", "q60.jpg", "crop.jpg"]
        for name in near {
            let distance = PerceptualHash.distance(original, try #require(ours[name]))
            #expect(distance <= 10, "\(name) is \(distance) bits from the original (imagehash: \(PerceptualHash.distance(reference["original.jpg"] ?? 0, reference[name] ?? 0)))")
        }
        let others = reference.keys.filter { $0.hasPrefix("other-") }
        for name in others {
            let distance = PerceptualHash.distance(original, try #require(ours[name]))
            #expect(distance > 10, "\(name) is \(distance) bits from the original")
        }
        // The same ranking as imagehash's: the three near copies first, in both.
        func ranking(_ hashes: [String: UInt64]) -> [String] {
            let origin = hashes["original.jpg"] ?? 0
            return hashes.keys.filter { $0 != "original.jpg" }
                .sorted { (PerceptualHash.distance(origin, hashes[$0] ?? 0), $0) < (PerceptualHash.distance(origin, hashes[$1] ?? 0), $1) }
        }
        #expect(Set(ranking(ours).prefix(3)) == Set(near), "ours: \(ranking(ours).prefix(5))")
        #expect(Set(ranking(reference).prefix(3)) == Set(near), "imagehash: \(ranking(reference).prefix(5))")
        // And close to imagehash's own hash of each file (it shrinks the full picture with Lanczos; we average the
        // 100-pixel frame the placeholders use).
        let apart = reference.keys.map { PerceptualHash.distance(reference[$0] ?? 0, ours[$0] ?? 0) }.sorted()
        #expect(apart[apart.count / 2] <= 6, "median bits apart from imagehash's hash of the same file: \(apart)")
        let origin = reference["original.jpg"] ?? 0
        print("phash distances to the original, ours / imagehash's:", (near + others.sorted()).map {
            "\($0) \(PerceptualHash.distance(original, ours[$0] ?? 0))/\(PerceptualHash.distance(origin, reference[$0] ?? 0))"
        }.joined(separator: ", "), "; ours vs imagehash's on the same file:", apart)
    }

    @Test func degenerateAndFlatPicturesGetAHashWithoutTrapping() {
        for (width, height) in [(1, 1), (1, 40), (40, 1), (3, 2), (100, 100)] {
            let pixels = RGBAPixels(width: width, height: height, bytes: [UInt8](repeating: 128, count: width * height * 4))
            let flat = pixels.map(PerceptualHash.hash)
            #expect(flat == 1 << 63, "a flat picture has only its mean above the median, as imagehash says: \(width)x\(height)")
        }
        let gradient = RGBAPixels(width: 64, height: 64, bytes: (0..<(64 * 64)).flatMap { i -> [UInt8] in
            let v = UInt8((i % 64) * 4)
            return [v, v, v, 255]
        })
        #expect(gradient.map(PerceptualHash.hex)?.count == 16)
        #expect(PerceptualHash.parse("zz") == nil && PerceptualHash.parse("00000000000000ff") == 255)
        #expect(PerceptualHash.hex(1) == "0000000000000001")
    }
}
