import CVips

/// Multi-step libvips operations used by the pipeline.
enum ImageOperations {
    /// Resamples to exactly `width`x`height`, premultiplying alpha so transparent pixels do not bleed dark.
    static func resize(_ image: VipsImageRef, width: Int, height: Int) throws(ImagingError) -> VipsImageRef {
        let hscale = Double(width) / Double(image.width)
        let vscale = Double(height) / Double(image.height)
        guard image.hasAlpha else {
            return try image.apply("resize") { mf_resize($0, hscale, vscale, $1) }
        }
        let format = image.bandFormat
        return try image
            .apply("premultiply") { mf_premultiply($0, $1) }
            .apply("resize") { mf_resize($0, hscale, vscale, $1) }
            .apply("unpremultiply") { mf_unpremultiply($0, $1) }
            .apply("cast") { mf_cast($0, format, $1) }
    }

    /// Converts to 8-bit sRGB (3 bands, or 4 with alpha): embedded ICC profiles are honoured (CMYK, wide gamut),
    /// grey, CMYK without profile and 16-bit images are converted by libvips' colourspace rules.
    static func toSRGB8(_ input: VipsImageRef) throws(ImagingError) -> VipsImageRef {
        var image = input
        if image.hasField(String(cString: mf_meta_icc_name())) && vips_icc_present() != 0 {
            if let transformed = try? image.apply("icc_transform", { mf_icc_to_srgb($0, $1) }) {
                image = transformed
            }
        }
        if image.interpretation != VIPS_INTERPRETATION_sRGB || image.bands < 3 {
            image = try image.apply("colourspace") { mf_colourspace_srgb($0, $1) }
        }
        if image.bandFormat != VIPS_FORMAT_UCHAR {
            let shift: Int32 = image.bandFormat == VIPS_FORMAT_USHORT ? 1 : 0
            image = try image.apply("cast") { mf_cast_uchar($0, shift, $1) }
        }
        return image
    }
}
