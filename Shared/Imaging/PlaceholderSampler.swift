import CVips
import Placeholders

/// The placeholders of SPEC §12 for media stored before they existed (the Janitor's `backfill`): from a stored
/// rendition's encoded bytes, shrunk on load to fit `ThumbHash.maxSide`, so even a 1080-pixel poster costs a few
/// milliseconds.
public enum StoredPicturePlaceholder {
    /// Larger input is refused: renditions are a few hundred kilobytes, and this reads whatever storage holds.
    public static let maxBytes = 32 << 20

    public static func make(encoded bytes: [UInt8]) throws(ImagingError) -> ImagePlaceholder? {
        try VipsRuntime.ensureStarted()
        guard bytes.count <= maxBytes else {
            throw .imageTooLarge("the stored picture is \(bytes.count) bytes, more than \(maxBytes)")
        }
        // The libvips image borrows the bytes: everything that reads them happens inside this closure.
        let result: Result<ImagePlaceholder?, ImagingError> = bytes.withUnsafeBytes { raw in
            Result { () throws(ImagingError) -> ImagePlaceholder? in
                let image = try VipsImageRef.make("thumbnail") { out in
                    mf_thumbnail_buffer(raw.baseAddress, raw.count, Int32(ThumbHash.maxSide), out)
                }
                let upright = try ImageOperations.toSRGB8(image).copyToMemory()
                return try PlaceholderSampler.placeholder(from: upright)
            }
        }
        return try result.get()
    }
}

/// The placeholders of SPEC §12 from a picture already decoded in memory: shrunk to fit `ThumbHash.maxSide`, read
/// out as 8-bit pixels, hashed. The caller hands the smallest full-frame image it holds (a 320-pixel rendition's
/// pixels), so this is a shrink of a small image and two passes over at most 10,000 pixels: well under 1 ms.
enum PlaceholderSampler {
    static func placeholder(from image: VipsImageRef) throws(ImagingError) -> ImagePlaceholder? {
        let target = ImagePlaceholder.targetSize(width: image.width, height: image.height)
        // A frame the render already holds in memory: averaged down in place (under a millisecond for a 320-pixel
        // frame), where asking libvips for a shrink and a copy out cost 3-4 ms of pool start-up and copying.
        if image.bandFormat == VIPS_FORMAT_UCHAR, (1...4).contains(image.bands),
           let data = image.memoryPixels {
            let rowBytes = image.width * image.bands
            let pixels = RGBAPixels(
                width: image.width, height: image.height, bands: image.bands, rowBytes: rowBytes,
                interleaved: UnsafeRawBufferPointer(start: data, count: rowBytes * image.height),
                targetWidth: target.width, targetHeight: target.height)
            return pixels.flatMap(ImagePlaceholder.init)
        }
        var small = image
        if image.width != target.width || image.height != target.height {
            small = try image.apply("thumbnail") { mf_thumbnail_force($0, Int32(target.width), Int32(target.height), $1) }
        }
        if small.bandFormat != VIPS_FORMAT_UCHAR {
            small = try small.apply("cast") { mf_cast($0, VIPS_FORMAT_UCHAR, $1) }
        }
        let (width, height, bands) = (small.width, small.height, small.bands)
        var size = 0
        guard let memory = vips_image_write_to_memory(small.pointer, &size) else {
            throw .decodeFailed(VipsRuntime.takeErrorMessage(fallback: "reading the placeholder's pixels failed"))
        }
        defer { g_free(memory) }
        // An sRGB picture has 3 or 4 bands, a grey one 1 or 2; anything else gets no placeholder rather than a wrong one.
        guard let pixels = RGBAPixels(width: width, height: height, bands: bands,
                                      interleaved: UnsafeRawBufferPointer(start: memory, count: size))
        else { return nil }
        return ImagePlaceholder(pixels)
    }
}
