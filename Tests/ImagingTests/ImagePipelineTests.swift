import Dispatch
import Foundation
import Imaging
import MediaDomain
import Synchronization
import Testing

@Suite("Image renditions: sizes")
struct RenditionSizeTests {
    @Test("12MP landscape JPEG gives the five spec sizes")
    func twelveMegapixels() throws {
        let image = try processFixture("12mp.jpg")
        #expect(image.width == 4000 && image.height == 3000)
        #expect(image.format == "jpeg" && !image.animated && image.pages == 1 && !image.hasAlpha)
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "320x240", "medium": "640x480", "large": "1080x810", "webp": "640x480",
        ])
        #expect(image.renditions.map(\.name) == standardRenditions.map(\.name))
        #expect(try image.rendition("webp").mimeType == "image/webp")
        #expect(try image.rendition("large").mimeType == "image/jpeg")
        try expectWellFormed(image)
    }

    @Test("AVIF (SPEC §12): within 640, upright, stripped, alpha kept, made in the same pass")
    func avif() throws {
        let outputs = standardRenditions + [RenditionCatalog.imageAVIF]
        let photo = try processFixture("12mp.jpg", outputs: outputs)
        let avif = try photo.rendition("avif")
        #expect(avif.mimeType == "image/avif" && avif.fileExtension == "avif")
        #expect("\(avif.width)x\(avif.height)" == "640x480")
        #expect(avif.data.count < (try photo.rendition("medium")).data.count, "smaller than the 640 JPEG")
        try expectWellFormed(photo)

        let turned = try processFixture("exif6_gps.jpg", outputs: outputs)
        #expect(sizes(turned)["avif"] == "480x640", "upright")
        try expectWellFormed(turned)

        let transparent = try processFixture("alpha.png", outputs: outputs)
        let info = try decode(try transparent.rendition("avif"), at: [(x: 10, y: 10), (x: 300, y: 150)])
        #expect(info.hasAlpha, "alpha kept")
        #expect(info.samples.first?.last ?? 255 < 30 && info.samples.last?.last ?? 0 > 225, "\(info.samples)")
    }

    @Test("24MP JPEG (DCT shrink 4) keeps the aspect ratio")
    func twentyFourMegapixels() throws {
        let image = try processFixture("24mp.jpg")
        #expect(image.width == 6000 && image.height == 4000)
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "320x213", "medium": "640x427", "large": "1080x720", "webp": "640x427",
        ])
        try expectWellFormed(image)
    }

    @Test("portrait input fits on its longer side")
    func portrait() throws {
        let image = try processFixture("portrait.jpg")
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "240x320", "medium": "480x640", "large": "810x1080", "webp": "480x640",
        ])
    }

    @Test("odd sizes round to the nearest pixel")
    func oddSizes() throws {
        let image = try processFixture("odd.jpg")
        #expect(image.width == 1001 && image.height == 751)
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "320x240", "medium": "640x480", "large": "1001x751", "webp": "640x480",
        ])
        try expectWellFormed(image)
    }

    @Test("60x40 is never upscaled; the thumbnail is its centred 40x40 square")
    func neverUpscaled() throws {
        let image = try processFixture("small.jpg")
        #expect(sizes(image) == [
            "thumbnail": "40x40", "small": "60x40", "medium": "60x40", "large": "60x40", "webp": "60x40",
        ])
        try expectWellFormed(image)
    }

    @Test("panorama: fit keeps the aspect, the thumbnail is a 1:1 centre square")
    func panorama() throws {
        let image = try processFixture("panorama.jpg")
        #expect(sizes(image) == [
            "thumbnail": "100x100", "small": "320x11", "medium": "640x21", "large": "1080x36", "webp": "640x21",
        ])
        try expectWellFormed(image)
    }

    @Test("1x1 stays 1x1 and keeps its colour")
    func onePixel() throws {
        let image = try processFixture("one.png")
        #expect(image.width == 1 && image.height == 1)
        #expect(Set(sizes(image).values) == ["1x1"])
        let info = try decode(try image.rendition("large"), at: [(0, 0)])
        #expect(near(info.samples[0], [10, 20, 30], tolerance: 8), "\(info.samples)")
    }
}

@Suite("Image renditions: colour, orientation, metadata")
struct RenditionContentTests {
    @Test("EXIF orientation 6 is applied, EXIF and GPS are stripped")
    func orientationAndPrivacy() throws {
        let image = try processFixture("exif6_gps.jpg")
        #expect(image.width == 1200 && image.height == 1600, "upright original size")
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "240x320", "medium": "480x640", "large": "810x1080", "webp": "480x640",
        ])
        try expectWellFormed(image)
        // The red band on the stored top edge ends up on the right after a 90° clockwise turn.
        let large = try decode(try image.rendition("large"), at: [(800, 540), (300, 540), (405, 5)])
        #expect(large.orientation == 1)
        #expect(near(large.samples[0], [255, 0, 0], tolerance: 40), "right edge is red: \(large.samples[0])")
        #expect(!near(large.samples[1], [255, 0, 0], tolerance: 40), "middle is not red: \(large.samples[1])")
        #expect(!near(large.samples[2], [255, 0, 0], tolerance: 40), "top is not red: \(large.samples[2])")
        for rendition in image.renditions {
            #expect(!contains(rendition.data, "Exif"), "\(rendition.name) has no EXIF")
            #expect(!contains(rendition.data, "FixtureCam"), "\(rendition.name) has no camera tags")
        }
        #expect(!jpegMarkers(try image.rendition("large").data).contains(0xE1))
    }

    @Test("CMYK JPEG comes out as 3-band sRGB with the right colour")
    func cmyk() throws {
        let image = try processFixture("cmyk.jpg")
        #expect(image.width == 640 && image.height == 480 && !image.hasAlpha)
        try expectWellFormed(image)
        let info = try decode(try image.rendition("medium"), at: [(320, 240)])
        #expect(info.bands == 3 && info.colourSpace == "srgb")
        let pixel = info.samples[0]
        #expect(pixel[0] > 180 && pixel[1] < 90 && pixel[2] < 90, "print red is screen red: \(pixel)")
    }

    @Test("progressive JPEG decodes (with shrink-on-load) to baseline outputs")
    func progressive() throws {
        let image = try processFixture("progressive.jpg")
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "320x240", "medium": "640x480", "large": "1080x810", "webp": "640x480",
        ])
        try expectWellFormed(image)
    }

    @Test("16-bit PNG is narrowed to 8-bit keeping the colour")
    func sixteenBit() throws {
        let image = try processFixture("rgb16.png")
        #expect(image.format == "png" && image.width == 640 && image.height == 480)
        try expectWellFormed(image)
        let info = try decode(try image.rendition("small"), at: [(100, 100)])
        #expect(near(info.samples[0], [128, 64, 192]), "\(info.samples)")
    }

    @Test("alpha: flattened onto white for JPEG, kept in WebP")
    func alpha() throws {
        let image = try processFixture("alpha.png")
        #expect(image.hasAlpha && image.format == "png")
        try expectWellFormed(image)
        let jpeg = try decode(try image.rendition("medium"), at: [(20, 150), (380, 150)])
        #expect(jpeg.bands == 3 && !jpeg.hasAlpha)
        #expect(near(jpeg.samples[0], [255, 255, 255]), "transparent becomes white: \(jpeg.samples[0])")
        #expect(near(jpeg.samples[1], [0, 200, 0], tolerance: 12), "\(jpeg.samples[1])")
        let webp = try decode(try image.rendition("webp"), at: [(20, 150), (380, 150)])
        #expect(webp.bands == 4 && webp.hasAlpha)
        #expect(webp.samples[0][3] < 5, "still transparent: \(webp.samples[0])")
        #expect(near(webp.samples[1], [0, 200, 0, 255], tolerance: 12), "\(webp.samples[1])")
    }

    @Test("greyscale JPEG is written as sRGB")
    func greyscale() throws {
        let image = try processFixture("grey.jpg")
        try expectWellFormed(image)
    }

    @Test("BMP is read (through ImageMagick)")
    func bmp() throws {
        let image = try processFixture("image.bmp")
        #expect(image.format == "bmp" && image.width == 300 && image.height == 200)
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "300x200", "medium": "300x200", "large": "300x200", "webp": "300x200",
        ])
        try expectWellFormed(image)
    }
}

@Suite("Image renditions: animations and WebP input")
struct AnimationTests {
    @Test("animated GIF: first frame, animated, page count")
    func animatedGIF() throws {
        let image = try processFixture("anim.gif")
        #expect(image.format == "gif" && image.animated && image.pages == 3 && !image.hasAlpha)
        #expect(image.width == 200 && image.height == 100)
        #expect(sizes(image) == [
            "thumbnail": "100x100", "small": "200x100", "medium": "200x100", "large": "200x100", "webp": "200x100",
        ])
        try expectWellFormed(image)
        for name in ["large", "webp"] {
            let info = try decode(try image.rendition(name), at: [(100, 50)])
            #expect(info.height == 100, "one frame, not a strip of frames")
            #expect(near(Array(info.samples[0].prefix(3)), [255, 0, 0], tolerance: 20), "first frame: \(info.samples)")
        }
    }

    @Test("GIF transparency: reported, flattened white in JPEG, kept in WebP")
    func transparentGIF() throws {
        let image = try processFixture("transparent.gif")
        #expect(image.format == "gif" && image.hasAlpha && !image.animated && image.pages == 1)
        let jpeg = try decode(try image.rendition("large"), at: [(10, 40), (100, 40)])
        #expect(near(jpeg.samples[0], [255, 255, 255]), "\(jpeg.samples)")
        #expect(near(jpeg.samples[1], [255, 0, 0], tolerance: 20), "\(jpeg.samples)")
        let webp = try decode(try image.rendition("webp"), at: [(10, 40)])
        #expect(webp.hasAlpha && webp.samples[0][3] < 5, "\(webp.samples)")
    }

    @Test("animated WebP: first frame, animated")
    func animatedWebP() throws {
        let image = try processFixture("anim.webp")
        #expect(image.format == "webp" && image.animated && image.pages == 2)
        let info = try decode(try image.rendition("large"), at: [(100, 50)])
        #expect(info.width == 200 && info.height == 100)
        #expect(near(info.samples[0], [255, 0, 0], tolerance: 20), "\(info.samples)")
    }

    @Test("still WebP (scaled decode)")
    func stillWebP() throws {
        let image = try processFixture("still.webp")
        #expect(image.format == "webp" && !image.animated && image.pages == 1)
        #expect(sizes(image) == [
            "thumbnail": "150x150", "small": "320x240", "medium": "640x480", "large": "1080x810", "webp": "640x480",
        ])
        try expectWellFormed(image)
    }

    @Test("the pixel limit counts one frame of an animation")
    func limitCountsOneFrame() throws {
        #expect(try processingError("anim.gif", limits: ImageProcessingLimits(maxPixels: 200 * 100)) == nil)
        let error = try processingError("anim.gif", limits: ImageProcessingLimits(maxPixels: 200 * 100 - 1))
        #expect(error?.code == .imageTooLarge)
    }
}

@Suite("Image failures")
struct FailureTests {
    @Test("decompression bomb fails with image_too_large without being decoded")
    func bomb() throws {
        let path = try Fixtures.path("bomb.png")
        let start = ContinuousClock.now
        let error = try processingError("bomb.png")
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .imageTooLarge)
        #expect(error?.code.rawValue == "image_too_large")
        #expect(error?.message.contains("20000x20000") == true, "\(String(describing: error))")
        // Decoding 400 megapixels takes seconds and hundreds of MB; reading the header takes milliseconds.
        #expect(elapsed < .milliseconds(500), "took \(elapsed)")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test("the limit is configurable")
    func configurableLimit() throws {
        let error = try processingError("odd.jpg", limits: ImageProcessingLimits(maxPixels: 1001 * 751 - 1))
        #expect(error?.code == .imageTooLarge)
        #expect(try processingError("odd.jpg", limits: ImageProcessingLimits(maxPixels: 1001 * 751)) == nil)
    }

    @Test("truncated and corrupt files fail with decode_failed",
          arguments: ["truncated.jpg", "corrupt.jpg", "truncated.png"])
    func broken(name: String) throws {
        let error = try processingError(name)
        #expect(error?.code == .decodeFailed, "\(String(describing: error))")
        #expect(error?.message.isEmpty == false)
    }

    @Test("broken input is detected even with no outputs requested")
    func brokenWithoutOutputs() throws {
        let pipeline = ImagePipeline()
        #expect(throws: ImagingError.self) {
            try pipeline.process(file: try Fixtures.path("truncated.jpg"), outputs: [])
        }
        let metadata = try pipeline.process(file: try Fixtures.path("odd.jpg"), outputs: [])
        #expect(metadata.width == 1001 && metadata.renditions.isEmpty)
    }

    @Test("content that is no supported image fails with unsupported_format")
    func unsupported() throws {
        #expect(try processingError("not-an-image.jpg")?.code == .unsupportedFormat)
    }

    @Test("empty and missing files fail with decode_failed")
    func emptyOrMissing() throws {
        #expect(try processingError("empty.png")?.code == .decodeFailed)
        #expect(try processingError("does-not-exist.jpg")?.code == .decodeFailed)
    }
}

@Suite("Image pipeline concurrency")
struct ConcurrencyTests {
    @Test("process runs on several threads at once")
    func parallelCalls() throws {
        let names = ["12mp.jpg", "exif6_gps.jpg", "alpha.png", "progressive.jpg", "anim.gif", "truncated.jpg"]
        let paths = try names.map { try Fixtures.path($0) }
        let pipeline = ImagePipeline()
        let results = Mutex<[String: String]>([:])
        DispatchQueue.concurrentPerform(iterations: paths.count * 2) { index in
            let path = paths[index % paths.count]
            let outcome: String
            do {
                let image = try pipeline.process(file: path, outputs: standardRenditions)
                outcome = try image.rendition("large").width.description
            } catch let error as ImagingError {
                outcome = error.code.rawValue
            } catch {
                outcome = "\(error)"
            }
            results.withLock { $0[names[index % names.count] + "#\(index / names.count)"] = outcome }
        }
        let outcomes = results.withLock { $0 }
        for round in 0..<2 {
            #expect(outcomes["12mp.jpg#\(round)"] == "1080")
            #expect(outcomes["exif6_gps.jpg#\(round)"] == "810")
            #expect(outcomes["alpha.png#\(round)"] == "400")
            #expect(outcomes["progressive.jpg#\(round)"] == "1080")
            #expect(outcomes["anim.gif#\(round)"] == "200")
            #expect(outcomes["truncated.jpg#\(round)"] == "decode_failed")
        }
    }
}
