import MediaDomain
import CVips

/// Renders image outputs with libvips: header check, one reduced-scale decode, every output from that decode.
///
/// `process` blocks; run it on a dedicated thread, never on Swift's cooperative pool. It is safe to call from
/// several threads at once (the type holds no mutable state; libvips is thread-safe).
public final class ImagePipeline: Sendable {
    /// Starts libvips (once per process): operation cache off, default worker count, glibc malloc arenas capped.
    /// A failure to start is reported by the first `process` call.
    public init() {
        VipsRuntime.start()
    }

    /// Renders `outputs` from the image file at `path`.
    ///
    /// - Throws: `ImagingError` with `unsupported_format` (content is no supported format), `image_too_large`
    ///   (over `limits.maxPixels`, checked before decoding), `decode_failed` (corrupt, truncated, unreadable) or
    ///   `cancelled` (`cancellation` was raised; libvips stops mid-computation).
    public func process(
        file path: String, outputs: [ImageRenditionSpec], limits: ImageProcessingLimits = ImageProcessingLimits(),
        cancellation: ImagingCancellation? = nil
    ) throws(ImagingError) -> ProcessedImage {
        try VipsRuntime.ensureStarted()
        let format = try SourceFormat.sniff(path: path)

        // Header only: loaders are lazy, no pixel is decoded until the image is evaluated.
        let header = try VipsLoader.open(path: path, format: format, reduction: .none)
        let storedWidth = header.width, storedHeight = header.height
        let swapsAxes = (5...8).contains(header.orientation)
        let uprightWidth = swapsAxes ? storedHeight : storedWidth
        let uprightHeight = swapsAxes ? storedWidth : storedHeight
        // One frame counts: loaders open the first page only, so `height` is the page height.
        let pixels = storedWidth.multipliedReportingOverflow(by: storedHeight)
        if pixels.overflow || pixels.partialValue > limits.maxPixels {
            throw .imageTooLarge(
                "image is \(storedWidth)x\(storedHeight) pixels, more than the limit of \(limits.maxPixels)")
        }

        let geometries = outputs.map {
            RenditionGeometry($0.geometry, sourceWidth: uprightWidth, sourceHeight: uprightHeight)
        }
        let plan = DecodePlan(outputs: geometries, storedWidth: storedWidth, storedHeight: storedHeight)
        try cancellation?.check()
        let decoded = try decode(header: header, path: path, format: format, plan: plan, cancellation: cancellation)

        let rendered = try RenditionRenderer.render(
            outputs, geometries: geometries, from: decoded,
            uprightWidth: uprightWidth, uprightHeight: uprightHeight, cancellation: cancellation)
        let pages = header.pageCount
        // libvips' GIF loader always adds an alpha band; report alpha only when the first frame uses it.
        let hasAlpha = format == .gif && decoded.hasAlpha ? !(try decoded.alphaIsOpaque()) : header.hasAlpha
        return ProcessedImage(
            width: uprightWidth, height: uprightHeight, format: format.rawValue, hasAlpha: hasAlpha,
            animated: pages > 1, pages: pages, renditions: rendered.renditions, placeholder: rendered.placeholder,
            placeholderTime: rendered.placeholderTime)
    }

    /// Decodes once at reduced scale, upright, 8-bit sRGB, in memory.
    private func decode(
        header: VipsImageRef, path: String, format: SourceFormat, plan: DecodePlan, cancellation: ImagingCancellation?
    ) throws(ImagingError) -> VipsImageRef {
        var image = header
        switch format {
        case .jpeg:
            let shrink = plan.jpegShrink(sourceWidth: header.width, sourceHeight: header.height)
            if shrink > 1 { image = try VipsLoader.open(path: path, format: format, reduction: .jpegShrink(shrink)) }
        case .webp:
            if let scale = plan.webpScale(sourceWidth: header.width, sourceHeight: header.height) {
                image = try VipsLoader.open(path: path, format: format, reduction: .webpScale(scale))
            }
        case .png, .gif, .bmp:
            break
        }

        // Resample the remaining factor in the stream, so only the reduced image is ever held in memory.
        if image.width > plan.storedWidth || image.height > plan.storedHeight {
            image = try ImageOperations.resize(
                image, width: min(image.width, plan.storedWidth), height: min(image.height, plan.storedHeight))
        }
        image = try ImageOperations.toSRGB8(image)
        var decoded = try image.copyToMemory(cancellation)
        // Rotate the small in-memory image: rotating a sequential stream would need random access.
        if decoded.orientation != 1 {
            decoded = try decoded.apply("autorot") { mf_autorot($0, $1) }.copyToMemory(cancellation)
        }
        return decoded
    }
}
