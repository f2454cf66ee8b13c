import Foundation
@testable import MediaDomain
import Testing
import TestSupport

/// Location removed from originals without re-encoding (SPEC §10, issue 27 defect 8), on files made by Pillow and
/// ffmpeg with EXIF GPS, XMP GPS and QuickTime location atoms, checked by Pillow and ffprobe reading them back.
@Suite("Location scrubber")
struct LocationScrubberTests {
    static let folder: String = {
        let folder = NSTemporaryDirectory() + "scrub-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// Makes the fixtures (once per process).
    static let fixtures: Result<Void, any Error> = Result {
        let script = #"""
import sys
from PIL import Image, PngImagePlugin
out = sys.argv[1]
xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
       'exif:GPSLongitude="13,24.0E"><exif:GPSAltitude>34/1</exif:GPSAltitude><exif:ExposureTime>1/60</exif:ExposureTime>'
       '</rdf:Description></rdf:RDF></x:xmpmeta>')
im = Image.new("RGB", (64, 48), (40, 120, 200))
exif = Image.Exif()
exif[0x010F] = "ScrubCam"
exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0), 6: (34, 1)}
im.save(f"{out}/gps.jpg", quality=90, exif=exif.tobytes(), xmp=xmp.encode())
im.save(f"{out}/gps.webp", exif=exif.tobytes(), xmp=xmp.encode())
info = PngImagePlugin.PngInfo()
info.add_itxt("XML:com.adobe.xmp", xmp)
im.save(f"{out}/gps.png", exif=exif.tobytes(), pnginfo=info)
im.save(f"{out}/plain.jpg", quality=90)
"""#
        try script.write(toFile: folder + "/make.py", atomically: true, encoding: .utf8)
        let made = try runCapturing("/usr/bin/env", ["python3", folder + "/make.py", folder])
        guard made.status == 0 else { throw Failure(made.output) }
        for (name, extra) in [("gps.mov", ["-metadata", "location=+52.5200+013.4050/", "-f", "mov"]),
                              ("gps.mp4", ["-metadata", "location=+52.5200+013.4050/", "-movflags", "use_metadata_tags",
                                           "-metadata", "com.apple.quicktime.location.ISO6709=+52.5200+013.4050+034.000/"])] {
            let ffmpeg = try runCapturing("/usr/bin/env", ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                                           "testsrc2=size=160x120:duration=1", "-pix_fmt", "yuv420p"]
                                          + extra + [folder + "/" + name])
            guard ffmpeg.status == 0 else { throw Failure(ffmpeg.output) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The file at `name` scrubbed into `<name>.scrubbed.<ext>`: its patches, and the path.
    func scrub(_ name: String, format: MediaFormat) async throws -> (patches: [LocationScrubber.Patch], path: String) {
        try Self.fixtures.get()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.folder + "/" + name)))
        let patches = try await LocationScrubber.patches(format: format, size: Int64(bytes.count)) { offset, length in
            Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + length)])
        }
        var scrubbed = bytes
        LocationScrubber.apply(patches, to: &scrubbed, at: 0)
        #expect(scrubbed.count == bytes.count, "same length")
        let ext = (name as NSString).pathExtension
        let path = "\(Self.folder)/\(name).scrubbed.\(ext)"
        try Data(scrubbed).write(to: URL(fileURLWithPath: path))
        return (patches, path)
    }

    /// Pillow's view of an image: its GPS IFD, whether its XMP mentions GPS, its camera make, and its pixels' checksum.
    func pillow(_ path: String) throws -> String {
        let script = """
        import sys, hashlib
        from PIL import Image
        im = Image.open(sys.argv[1]); im.load()
        gps = dict(im.getexif().get_ifd(0x8825))
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
        if isinstance(xmp, str): xmp = xmp.encode()
        print("gps", len(gps), "xmp-gps", b"GPS" in xmp, "make", im.getexif().get(0x010F), "pixels", hashlib.md5(im.tobytes()).hexdigest())
        """
        let result = try runCapturing("/usr/bin/env", ["python3", "-c", script, path])
        guard result.status == 0 else { throw Failure(result.output) }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("EXIF GPS and XMP GPS leave a JPEG, a PNG and a WebP; the pixels and the rest of the metadata stay",
          arguments: [("gps.jpg", MediaFormat.jpeg), ("gps.png", .png), ("gps.webp", .webp)])
    func images(_ name: String, _ format: MediaFormat) async throws {
        try Self.fixtures.get()
        let before = try pillow(Self.folder + "/" + name)
        #expect(before.hasPrefix("gps 5 xmp-gps True make ScrubCam"), "the fixture carries its location: \(before)")
        let (patches, path) = try await scrub(name, format: format)
        #expect(!patches.isEmpty)
        let after = try pillow(path)
        #expect(after.hasPrefix("gps 0 xmp-gps False make ScrubCam"), "\(name): \(after)")
        #expect(after.split(separator: " ").last == before.split(separator: " ").last, "the same pixels")
    }

    @Test func aJPEGWithoutLocationNeedsNoPatch() async throws {
        #expect(try await scrub("plain.jpg", format: .jpeg).patches.isEmpty)
    }

    @Test("QuickTime ©xyz and the keys/ilst location item leave a MOV and an MP4", arguments: ["gps.mov", "gps.mp4"])
    func movies(_ name: String) async throws {
        func tags(_ path: String) throws -> String {
            let probe = try runCapturing("/usr/bin/env", ["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "default", path])
            return probe.output.lowercased()
        }
        #expect(try tags(Self.folder + "/" + name).contains("location"), "the fixture carries its location")
        let (patches, path) = try await scrub(name, format: name.hasSuffix(".mov") ? .quicktime : .mp4)
        #expect(!patches.isEmpty)
        let after = try tags(path)
        #expect(!after.contains("location") && !after.contains("+52.52"), "\(name): \(after)")
        let decoded = try runCapturing("/usr/bin/env", ["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"])
        #expect(decoded.status == 0 && decoded.output.isEmpty, "still plays: \(decoded.output)")
    }

    /// Hostile metadata yields no patch and no crash (the same inputs on every run): every prefix of the fixtures, and each with random bytes flipped.
    @Test func truncatedAndCorruptedMetadataIsSafe() async throws {
        try Self.fixtures.get()
        var generator = SplitMix64(seed: 27)
        var runs = 0
        for (name, format) in [("gps.jpg", MediaFormat.jpeg), ("gps.png", .png), ("gps.webp", .webp), ("gps.mov", .quicktime)] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.folder + "/" + name)))
            for cut in stride(from: 0, to: min(bytes.count, 8192), by: 5) + [bytes.count / 2] {
                var mutated = Array(bytes.prefix(cut))
                for _ in 0..<(cut % 5) where !mutated.isEmpty {
                    mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                let sample = mutated
                let patches = try await LocationScrubber.patches(format: format, size: Int64(sample.count)) { offset, length in
                    guard offset >= 0, offset < Int64(sample.count) else { return [] }
                    return Array(sample[Int(offset)..<min(sample.count, Int(offset) + max(0, length))])
                }
                #expect(patches.allSatisfy { $0.offset >= 0 && $0.offset + Int64($0.bytes.count) <= Int64(sample.count) },
                        "\(name) cut at \(cut): every patch inside the file")
                runs += 1
            }
        }
        #expect(runs > 1500, "\(runs) inputs")
    }

    /// A top-level box with a 64-bit size near Int64.max (found reading the walk for the fuzz target; 60 s of libFuzzer
    /// had not reached it): the bounds check `at + length <= size` overflowed and trapped, taking down the Gateway
    /// serving the original.
    @Test func aBoxWithAHugeSixtyFourBitSizeEndsTheWalk() async throws {
        // An 8-byte `free` box, then an `mdat` claiming Int64.max bytes: 8 + Int64.max does not fit.
        var bytes: [UInt8] = [0, 0, 0, 8] + Array("free".utf8)
        bytes += [0, 0, 0, 1] + Array("mdat".utf8) + [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        bytes += [UInt8](repeating: 0, count: 32)
        let sample = bytes
        let patches = try await LocationScrubber.movie(size: Int64(sample.count)) { offset, length in
            Array(sample[Int(offset)..<min(sample.count, Int(offset) + length)])
        }
        #expect(patches.isEmpty)
    }
}
