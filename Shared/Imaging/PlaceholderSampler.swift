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
                return try PlaceholderSampler.placeholder(from: try ImageOperations.toSRGB8(image))
            }
        }
        return try result.get()
    }
}

/// The placeholders of SPEC §12 from a picture already decoded: its 8-bit pixels averaged down in place to fit
/// `ThumbHash.maxSide`, then hashed. Callers hand a frame they hold in memory (the render's smallest full frame, a
/// 320-pixel one; the backfill's shrunk-on-load picture), so this is two passes over a few thousand pixels: under a
/// millisecond, where asking libvips for a shrink and a copy out cost 3-4 ms of pool start-up and copying.
enum PlaceholderSampler {
    static func placeholder(from frame: VipsImageRef) throws(ImagingError) -> ImagePlaceholder? {
        var image = frame
        if image.bandFormat != VIPS_FORMAT_UCHAR { image = try ImageOperations.toSRGB8(image) }
        if image.memoryPixels == nil { image = try image.copyToMemory() }
        // An sRGB picture has 3 or 4 bands, a grey one 1 or 2; anything else gets no placeholder rather than a wrong one.
        guard (1...4).contains(image.bands), let data = image.memoryPixels else { return nil }
        let target = ImagePlaceholder.targetSize(width: image.width, height: image.height)
        let rowBytes = image.width * image.bands
        let pixels = RGBAPixels(
            width: image.width, height: image.height, bands: image.bands, rowBytes: rowBytes,
            interleaved: UnsafeRawBufferPointer(start: data, count: rowBytes * image.height),
            targetWidth: target.width, targetHeight: target.height)
        return pixels.flatMap(ImagePlaceholder.init)
    }
}
