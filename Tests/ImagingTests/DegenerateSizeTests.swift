import Foundation
@testable import Imaging
import Testing

/// Degenerate but valid pictures (issue 27, defect 0): a 1x1 JPEG once aborted the whole ImageService (libvips asserts
/// on a 0-pixel image and calls `abort()`, which no error handling survives). Every format, every size from 1x1 to
/// 8x8, and lines of one pixel either way: each must give every rendition, each at least 1x1, never upscaled, and
/// decodable again. A regression here does not fail one test: it kills the test process.
@Suite("Image renditions: degenerate sizes")
struct DegenerateSizeTests {
    static let formats = ["jpg", "png", "gif", "webp", "bmp"]
    static let lines = [(1, 4000), (4000, 1), (1, 3001), (3001, 1), (2, 2999), (2999, 3), (7, 1), (1, 9)]

    /// Every picture, generated once into a folder of its own.
    static let folder: Result<String, Fixtures.Failure> = {
        let directory = NSTemporaryDirectory() + "degenerate-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = directory + "/make.py"
            try generator.write(toFile: script, atomically: true, encoding: .utf8)
            try Fixtures.run("python3", [script, directory], hint: "needs Pillow")
            return .success(directory)
        } catch let failure as Fixtures.Failure {
            return .failure(failure)
        } catch {
            return .failure(Fixtures.Failure(description: "\(error)"))
        }
    }()

    static var sizes: [(Int, Int)] {
        (1...8).flatMap { w in (1...8).map { h in (w, h) } } + lines
    }

    @Test("every format at 1x1 … 8x8, 1xN and Nx1 gives every rendition, none empty, none upscaled",
          arguments: formats)
    func everySize(format: String) throws {
        let directory = try Self.folder.get()
        for (width, height) in Self.sizes {
            let path = "\(directory)/\(width)x\(height).\(format)"
            let image = try ImagePipeline().process(file: path, outputs: standardRenditions)
            #expect(image.width == width && image.height == height, "\(path)")
            for rendition in image.renditions {
                #expect(rendition.width >= 1 && rendition.height >= 1, "\(path) \(rendition.name)")
                #expect(rendition.width <= width && rendition.height <= height, "\(path) \(rendition.name) upscaled")
                let decoded = try decode(rendition)
                #expect(decoded.width == rendition.width && decoded.height == rendition.height, "\(path) \(rendition.name)")
            }
        }
    }

    @Test("JPEG variants at 1x1: greyscale, 4:4:4, 4:2:0, progressive, CMYK, with EXIF orientation 6")
    func jpegVariants() throws {
        let directory = try Self.folder.get()
        for name in ["grey", "444", "420", "progressive", "cmyk", "rotated"] {
            let image = try ImagePipeline().process(file: "\(directory)/1x1-\(name).jpg", outputs: standardRenditions)
            #expect(image.width == 1 && image.height == 1)
            #expect(image.renditions.allSatisfy { $0.width == 1 && $0.height == 1 }, "\(name)")
        }
    }

    @Test("the decode plan never asks a loader for a 0-pixel image")
    func planNeverEmpty() {
        for (width, height) in Self.sizes + [(4000, 3000), (6000, 4000), (1001, 751), (15, 3)] {
            let geometries = standardRenditions.map {
                RenditionGeometry($0.geometry, sourceWidth: width, sourceHeight: height)
            }
            let plan = DecodePlan(outputs: geometries, storedWidth: width, storedHeight: height)
            let shrink = plan.jpegShrink(sourceWidth: width, sourceHeight: height)
            // libvips 8.14 makes floor(size / shrink) pixels.
            #expect(width / shrink >= max(1, plan.storedWidth) && height / shrink >= max(1, plan.storedHeight),
                    "\(width)x\(height) shrink \(shrink)")
            if let scale = plan.webpScale(sourceWidth: width, sourceHeight: height) {
                #expect((Double(width) * scale).rounded() >= 1 && (Double(height) * scale).rounded() >= 1,
                        "\(width)x\(height) webp scale \(scale)")
            }
            #expect(geometries.allSatisfy { $0.width >= 1 && $0.height >= 1 })
        }
    }

    static let generator = #"""
import os, sys
from PIL import Image

out = sys.argv[1]
sizes = [(w, h) for w in range(1, 9) for h in range(1, 9)]
sizes += [(1, 4000), (4000, 1), (1, 3001), (3001, 1), (2, 2999), (2999, 3), (7, 1), (1, 9)]
for w, h in sizes:
    im = Image.new("RGB", (w, h), (200, 30, 30))
    for x in range(min(w, 8)):
        im.putpixel((x, 0), (x * 30, 255 - x * 30, 60))
    im.save(os.path.join(out, f"{w}x{h}.jpg"), quality=90)
    im.save(os.path.join(out, f"{w}x{h}.png"))
    im.convert("P").save(os.path.join(out, f"{w}x{h}.gif"))
    im.save(os.path.join(out, f"{w}x{h}.webp"), quality=80)
    im.save(os.path.join(out, f"{w}x{h}.bmp"))
one = Image.new("RGB", (1, 1), (10, 120, 200))
one.convert("L").save(os.path.join(out, "1x1-grey.jpg"))
one.save(os.path.join(out, "1x1-444.jpg"), subsampling=0)
one.save(os.path.join(out, "1x1-420.jpg"), subsampling=2)
one.save(os.path.join(out, "1x1-progressive.jpg"), progressive=True)
one.convert("CMYK").save(os.path.join(out, "1x1-cmyk.jpg"))
exif = Image.Exif()
exif[0x0112] = 6
one.save(os.path.join(out, "1x1-rotated.jpg"), exif=exif.tobytes())
"""#
}
