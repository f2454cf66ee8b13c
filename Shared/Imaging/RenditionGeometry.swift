import MediaDomain
/// Pure size arithmetic for the pipeline, in the coordinates of the upright source.
struct RenditionGeometry: Equatable {
    /// How an output is cut from the decoded image.
    enum Method: Equatable {
        /// Resize to exactly `width`x`height` (the aspect ratio is kept up to rounding).
        case resize
        /// Resize to cover the box, then crop its centre.
        case coverCrop
        /// No scaling: cut the centred `width`x`height` region at full resolution.
        case centreCut
    }

    let width: Int
    let height: Int
    /// The fraction of the source resolution this output needs (≤ 1).
    let requiredScale: Double
    let method: Method

    init(_ geometry: ImageRenditionSpec.Geometry, sourceWidth: Int, sourceHeight: Int) {
        let sourceW = Double(sourceWidth), sourceH = Double(sourceHeight)
        switch geometry {
        case .fit(let maxSide):
            let scale = min(1, Double(max(1, maxSide)) / max(sourceW, sourceH))
            width = max(1, Int((sourceW * scale).rounded()))
            height = max(1, Int((sourceH * scale).rounded()))
            requiredScale = scale
            method = .resize
        case .cover(let boxWidth, let boxHeight):
            let boxW = Double(max(1, boxWidth)), boxH = Double(max(1, boxHeight))
            let scale = max(boxW / sourceW, boxH / sourceH)
            if scale <= 1 {
                width = Int(boxW)
                height = Int(boxH)
                requiredScale = scale
                method = .coverCrop
            } else {
                // Never upscale: the largest centred region with the box's aspect ratio, at 1:1.
                let fraction = min(sourceW / boxW, sourceH / boxH)
                width = min(sourceWidth, max(1, Int((boxW * fraction).rounded())))
                height = min(sourceHeight, max(1, Int((boxH * fraction).rounded())))
                requiredScale = 1
                method = .centreCut
            }
        }
    }
}

/// The single decode of a source: how far to shrink it so it is just large enough for every output.
struct DecodePlan: Equatable {
    /// Fraction of the source resolution to decode at (≤ 1).
    let scale: Double
    /// Decoded size, in the source's stored orientation.
    let storedWidth: Int
    let storedHeight: Int

    init(outputs: [RenditionGeometry], storedWidth sourceW: Int, storedHeight sourceH: Int) {
        // With no outputs the image is still decoded (at the cheapest scale) so broken files are detected.
        let scale = outputs.map(\.requiredScale).max() ?? 0.125
        self.scale = min(1, scale)
        // Round up (never below what an output needs), but not for floating-point dust like 1080.0000000001.
        storedWidth = max(1, min(sourceW, Int((Double(sourceW) * self.scale - 1e-6).rounded(.up))))
        storedHeight = max(1, min(sourceH, Int((Double(sourceH) * self.scale - 1e-6).rounded(.up))))
    }

    /// The largest JPEG DCT shrink (1, 2, 4, 8) whose output still covers the plan. libvips 8.14's loader makes a
    /// shrunk image `floor(size / shrink)` pixels wide (not libjpeg's ceiling), so a 1x1 or 7x1 JPEG at shrink 8
    /// would be 0 pixels wide, which libvips answers with an abort (`bad dimensions`), not an error: every shrink
    /// chosen here leaves at least one pixel on each side.
    func jpegShrink(sourceWidth: Int, sourceHeight: Int) -> Int {
        for shrink in [8, 4, 2] {
            let width = sourceWidth / shrink
            let height = sourceHeight / shrink
            if width >= max(1, storedWidth) && height >= max(1, storedHeight) { return shrink }
        }
        return 1
    }

    /// The scale for libwebp's decoder-side scaling, or nil to decode at full size. libvips rounds `size × scale` to
    /// the nearest pixel and refuses a 0 (`bad image dimensions`, so a valid 4000x1 WebP would fail): the scale is
    /// the smallest that still gives every planned pixel on both sides, hence at least one.
    func webpScale(sourceWidth: Int, sourceHeight: Int) -> Double? {
        guard sourceWidth > 0, sourceHeight > 0 else { return nil }
        let scale = max(Double(max(1, storedWidth)) / Double(sourceWidth), Double(max(1, storedHeight)) / Double(sourceHeight))
        guard scale < 1,
              (Double(sourceWidth) * scale).rounded() >= Double(max(1, storedWidth)),
              (Double(sourceHeight) * scale).rounded() >= Double(max(1, storedHeight))
        else { return nil }
        return scale
    }
}
