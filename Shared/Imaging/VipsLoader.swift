import CVips

/// Opens files with the libvips loader of their sniffed format (never by libvips' own guess), sequentially and
/// failing on any decode error or truncation.
enum VipsLoader {
    /// Decode-time reduction supported by the format's decoder.
    enum Reduction {
        case none
        /// libjpeg DCT-domain downscale by 2, 4 or 8.
        case jpegShrink(Int)
        /// libwebp scaling during decode.
        case webpScale(Double)
    }

    static func open(path: String, format: SourceFormat, reduction: Reduction) throws(ImagingError) -> VipsImageRef {
        try VipsImageRef.make("open") { out in
            switch (format, reduction) {
            case (.jpeg, .jpegShrink(let shrink)): mf_load_jpeg(path, Int32(shrink), out)
            case (.jpeg, _): mf_load_jpeg(path, 1, out)
            case (.webp, .webpScale(let scale)): mf_load_webp(path, scale, out)
            case (.webp, _): mf_load_webp(path, 1, out)
            case (.png, _): mf_load_png(path, out)
            case (.gif, _): mf_load_gif(path, out)
            case (.bmp, _): mf_load_magick(path, out)
            }
        }
    }
}
