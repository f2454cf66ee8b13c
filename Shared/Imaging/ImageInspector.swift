import CVips

/// What libvips sees in an encoded image (used to check outputs).
public struct ImageInfo: Sendable, Hashable {
    /// Format name from the libvips loader: `jpeg`, `png`, `gif`, `webp`, ...
    public let format: String
    public let width: Int
    public let height: Int
    /// Number of bands (3 for RGB, 4 for RGBA, 1 for grey, 4 for CMYK).
    public let bands: Int
    public let hasAlpha: Bool
    /// libvips interpretation nickname: `srgb`, `b-w`, `cmyk`, `rgb16`, ...
    public let colourSpace: String
    /// EXIF orientation (1 when absent).
    public let orientation: Int
    /// Names of metadata fields libvips attached (e.g. `exif-data`, `icc-profile-data`, `xmp-data`).
    public let metadataFields: [String]
    /// Band values at each requested point, in request order.
    public let samples: [[Double]]
}

/// Reads encoded images with libvips.
public enum ImageInspector {
    /// Decodes `bytes` and reports its header, optionally sampling pixels at `points` (upright coordinates as stored).
    public static func inspect(
        bytes: [UInt8], samplingPixelsAt points: [(x: Int, y: Int)] = []
    ) throws(ImagingError) -> ImageInfo {
        try VipsRuntime.ensureStarted()
        let result: Result<ImageInfo, ImagingError> = bytes.withUnsafeBytes { buffer in
            // The libvips image borrows `buffer`; it must be released inside this closure.
            Result { () throws(ImagingError) -> ImageInfo in
                guard let base = buffer.baseAddress, buffer.count > 0 else { throw .decodeFailed("no bytes") }
                let image = try VipsImageRef.make("new_from_buffer") { mf_load_buffer(base, buffer.count, $0) }
                var loader = ""
                var raw: UnsafePointer<CChar>?
                if vips_image_get_string(image.pointer, "vips-loader", &raw) == 0, let raw {
                    loader = String(cString: raw)
                }
                var samples: [[Double]] = []
                for point in points {
                    samples.append(try image.pixel(x: point.x, y: point.y))
                }
                let nick = vips_enum_nick(vips_interpretation_get_type(), Int32(image.interpretation.rawValue))
                return ImageInfo(
                    format: loader.split(separator: "load").first.map(String.init) ?? loader,
                    width: image.width, height: image.height, bands: image.bands, hasAlpha: image.hasAlpha,
                    colourSpace: nick.map { String(cString: $0) } ?? "unknown",
                    orientation: image.orientation, metadataFields: image.fieldNames, samples: samples)
            }
        }
        return try result.get()
    }
}
