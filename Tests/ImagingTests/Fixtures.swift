import Foundation
import TestSupport

/// Test inputs, generated once per test process into a temporary directory with Python/Pillow and ffmpeg.
/// Needs `ffmpeg` and Pillow (`python3 -m pip install pillow`).
enum Fixtures {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The directory holding every fixture (generation runs once, on first use, thread-safely).
    static let directory: Result<String, Failure> = generate()

    /// The path of a generated fixture.
    static func path(_ name: String) throws -> String {
        try directory.get() + "/" + name
    }

    private static func generate() -> Result<String, Failure> {
        removeStaleDirectories()
        let directory = NSTemporaryDirectory() + prefix + "\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = directory + "/generate.py"
            try generatorScript.write(toFile: script, atomically: true, encoding: .utf8)
            try run("python3", [script, directory],
                    hint: "needs Pillow: python3 -m pip install pillow")
            for (name, size) in [("12mp.jpg", "4000x3000"), ("24mp.jpg", "6000x4000"), ("portrait.jpg", "3000x4000")] {
                try run("ffmpeg", ["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=1",
                                   "-frames:v", "1", "-q:v", "3", directory + "/" + name],
                        hint: "needs ffmpeg (apt-get install ffmpeg)")
            }
            return .success(directory)
        } catch let failure as Failure {
            return .failure(failure)
        } catch {
            return .failure(Failure(description: "fixture generation failed: \(error)"))
        }
    }

    private static let prefix = "imaging-tests-"

    /// Deletes fixture directories left by earlier test processes that have exited.
    private static func removeStaleDirectories() {
        let temporary = NSTemporaryDirectory()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for entry in entries where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (temporary as NSString).appendingPathComponent(entry))
        }
    }

    /// Runs a tool found on PATH and fails with its stderr.
    static func run(_ tool: String, _ arguments: [String], hint: String) throws {
        let stderr = ChildProcess.pipe()
        let process = try ChildProcess("/usr/bin/env", [tool] + arguments, output: .discard, error: .descriptor(stderr.write))
        let message = String(decoding: stderr.read.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) failed (\(hint)): \(message)")
        }
    }

    private static let generatorScript = #"""
import os, struct, sys, zlib
from PIL import Image, ImageDraw

out = sys.argv[1]
P = lambda name: os.path.join(out, name)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path, width, height, bit_depth, colour_type, row):
    """Streams identical rows through zlib so huge images stay cheap to make."""
    comp = zlib.compressobj(9)
    chunks = []
    block = (b"\x00" + row) * 64
    rows = 0
    while rows + 64 <= height:
        chunks.append(comp.compress(block)); rows += 64
    for _ in range(height - rows):
        chunks.append(comp.compress(b"\x00" + row))
    chunks.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(chunks))
                + png_chunk(b"IEND", b""))


def scene(width, height):
    im = Image.new("RGB", (width, height), (30, 60, 200))
    d = ImageDraw.Draw(im)
    for i in range(0, width, max(1, width // 16)):
        d.line([(i, 0), (width - i, height)], fill=(240, 200, 40), width=max(1, width // 200))
    return im


# EXIF orientation 6 + GPS: stored landscape 1600x1200 with a red band on the stored top edge.
im = scene(1600, 1200)
ImageDraw.Draw(im).rectangle([0, 0, 1599, 199], fill=(255, 0, 0))
exif = Image.Exif()
exif[0x0112] = 6
exif[0x010F] = "FixtureCam"
exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
im.save(P("exif6_gps.jpg"), quality=90, exif=exif.tobytes())
check = Image.open(P("exif6_gps.jpg")).getexif()
assert check.get(0x0112) == 6 and check.get_ifd(0x8825), "fixture lacks orientation/GPS"

# CMYK JPEG: pure magenta+yellow (red in print), no ICC profile.
Image.new("CMYK", (640, 480), (0, 255, 255, 0)).save(P("cmyk.jpg"), quality=90)
# Progressive JPEG.
scene(2000, 1500).save(P("progressive.jpg"), quality=90, progressive=True)
# 16-bit RGB PNG of one colour (0x8000, 0x4000, 0xC000) -> 8-bit (128, 64, 192).
write_png(P("rgb16.png"), 640, 480, 16, 2, struct.pack(">HHH", 0x8000, 0x4000, 0xC000) * 640)
# RGBA PNG: left half fully transparent black, right half opaque green.
alpha = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
ImageDraw.Draw(alpha).rectangle([200, 0, 399, 299], fill=(0, 200, 0, 255))
alpha.save(P("alpha.png"))
# Animated GIF: red, green, blue frames.
frames = [Image.new("RGB", (200, 100), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
frames[0].save(P("anim.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0)
# Animated WebP (2 frames) and a still WebP large enough for scaled decoding.
frames[0].save(P("anim.webp"), save_all=True, append_images=frames[1:2], duration=100, loop=0, quality=80)
scene(2000, 1500).save(P("still.webp"), quality=85)
# BMP, 1x1, tiny, odd, greyscale.
scene(300, 200).save(P("image.bmp"))
Image.new("RGB", (1, 1), (10, 20, 30)).save(P("one.png"))
scene(60, 40).save(P("small.jpg"), quality=90)
scene(1001, 751).save(P("odd.jpg"), quality=90)
scene(800, 600).convert("L").save(P("grey.jpg"), quality=90)
scene(3000, 100).save(P("panorama.jpg"), quality=90)
# GIF with a transparent background.
transparent = Image.new("P", (120, 80), 0)
transparent.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
ImageDraw.Draw(transparent).rectangle([60, 0, 119, 79], fill=1)
transparent.save(P("transparent.gif"), transparency=0)
scene(800, 600).save(P("half.png"))
png = open(P("half.png"), "rb").read()
open(P("truncated.png"), "wb").write(png[: len(png) // 2])
# Decompression bomb: 20000x20000 1-bit greyscale (400 megapixels, a few tens of KB).
write_png(P("bomb.png"), 20000, 20000, 1, 0, bytes(2500))
# Truncated JPEG: a valid file cut in half; corrupt: garbage after the JPEG header.
data = open(P("odd.jpg"), "rb").read()
open(P("truncated.jpg"), "wb").write(data[: len(data) // 2])
open(P("corrupt.jpg"), "wb").write(data[:200] + bytes((i * 37) % 256 for i in range(20000)))
open(P("not-an-image.jpg"), "wb").write(b"%PDF-1.4\n" + b"x" * 100)
open(P("empty.png"), "wb").close()
print("ok")
"""#
}
