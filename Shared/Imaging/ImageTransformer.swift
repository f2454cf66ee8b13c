import CVips

/// One transform on request (SPEC §12's `/img/` URLs): a box, how the picture meets it, an encoding.
public struct ImageTransform: Sendable, Hashable {
    public enum Fit: Sendable, Hashable {
        /// Exactly the box: scaled to cover it, the overflow cut away keeping what `gravity` picks.
        case cover(Gravity)
        /// Within the box, aspect kept.
        case inside
        /// Exactly the box, aspect not kept.
        case fill
    }

    public enum Gravity: Sendable, Hashable {
        case centre
        /// libvips attention: keeps the most salient region.
        case attention
        /// libvips entropy: keeps the busiest region.
        case entropy
    }

    public enum Output: String, Sendable, Hashable {
        case jpeg, webp, avif, png

        public var mimeType: String { "image/\(rawValue)" }
        public var fileExtension: String { self == .jpeg ? "jpg" : rawValue }
    }

    public var width: Int?
    public var height: Int?
    public var fit: Fit
    public var output: Output
    public var quality: Int

    public init(width: Int?, height: Int?, fit: Fit, output: Output, quality: Int) {
        self.width = width
        self.height = height
        self.fit = fit
        self.output = output
        self.quality = quality
    }

    /// The output's size for an upright source of `sourceWidth` x `sourceHeight`, never larger than the source: a box
    /// above it is shrunk to fit (keeping the box's aspect for `cover`, each side for `fill`), and `inside` keeps the
    /// source's aspect. The caller picks the smallest stored picture at least this large to render from.
    public func outputSize(sourceWidth: Int, sourceHeight: Int) -> (width: Int, height: Int) {
        let sw = Double(max(1, sourceWidth)), sh = Double(max(1, sourceHeight))
        switch (fit, width, height) {
        case (.cover, let w?, let h?):
            let shrink = min(1, sw / Double(w), sh / Double(h))
            return (max(1, Int((Double(w) * shrink).rounded())), max(1, Int((Double(h) * shrink).rounded())))
        case (.fill, let w?, let h?):
            return (min(w, sourceWidth), min(h, sourceHeight))
        default:
            let scale = min(1, width.map { Double($0) / sw } ?? .infinity, height.map { Double($0) / sh } ?? .infinity)
            return (max(1, Int((sw * scale).rounded())), max(1, Int((sh * scale).rounded())))
        }
    }
}

/// Renders transforms with libvips' `thumbnail`: the file is shrunk while it is decoded (a 12 MP JPEG asked for at
/// 320 pixels is decoded at an eighth of its size), turned upright, cut to the box, made 8-bit sRGB and encoded with
/// its metadata stripped. Blocking: run it on a thread of its own.
public enum ImageTransformer {
    /// Renders `transform` from the picture at `path`, whose upright size is `sourceWidth` x `sourceHeight` (the
    /// original's, even when `path` is a smaller rendition of it: the output's size is decided against the original).
    public static func render(
        file path: String, sourceWidth: Int, sourceHeight: Int, _ transform: ImageTransform,
        limits: ImageProcessingLimits = ImageProcessingLimits()
    ) throws(ImagingError) -> RenderedImage {
        try VipsRuntime.ensureStarted()
        let format = try SourceFormat.sniff(path: path)
        let header = try VipsLoader.open(path: path, format: format, reduction: .none)
        let pixels = header.width.multipliedReportingOverflow(by: header.height)
        if pixels.overflow || pixels.partialValue > limits.maxPixels {
            throw .imageTooLarge("image is \(header.width)x\(header.height) pixels, more than the limit of \(limits.maxPixels)")
        }
        let size = transform.outputSize(sourceWidth: sourceWidth, sourceHeight: sourceHeight)
        // A cover box with the picture's own aspect crops nothing: no need to look for where to cut (libvips'
        // attention costs ~12 ms even on a 320-pixel picture).
        let swapsAxes = (5...8).contains(header.orientation)
        let (fileWidth, fileHeight) = swapsAxes ? (header.height, header.width) : (header.width, header.height)
        let coverScale = max(Double(size.width) / Double(fileWidth), Double(size.height) / Double(fileHeight))
        let cropsNothing = abs(Double(fileWidth) * coverScale - Double(size.width)) < 1
            && abs(Double(fileHeight) * coverScale - Double(size.height)) < 1
        var fit = transform.fit
        if case .cover = fit, cropsNothing { fit = .fill }
        let (mode, crop): (VipsSize, VipsInteresting) = switch fit {
        case .cover(.centre): (VIPS_SIZE_DOWN, VIPS_INTERESTING_CENTRE)
        case .cover(.attention): (VIPS_SIZE_DOWN, VIPS_INTERESTING_ATTENTION)
        case .cover(.entropy): (VIPS_SIZE_DOWN, VIPS_INTERESTING_ENTROPY)
        case .fill: (VIPS_SIZE_FORCE, VIPS_INTERESTING_NONE)
        case .inside: (VIPS_SIZE_DOWN, VIPS_INTERESTING_NONE)
        }
        var image = try VipsImageRef.make("thumbnail") { out in
            mf_thumbnail_file(path, Int32(size.width), Int32(size.height), Int32(mode.rawValue), Int32(crop.rawValue), out)
        }
        image = try ImageOperations.toSRGB8(image)
        let quality = Int32(min(100, max(1, transform.quality)))
        let bytes: [UInt8]
        switch transform.output {
        case .jpeg:
            if image.hasAlpha { image = try image.apply("flatten") { mf_flatten_white($0, $1) } }
            bytes = try image.encode("jpegsave") { mf_jpegsave($0, quality, $1, $2) }
        case .webp:
            bytes = WebPMetadata.strip(try image.encode("webpsave") { mf_webpsave($0, quality, $1, $2) })
        case .avif:
            bytes = try image.encode("avifsave") { mf_avifsave($0, quality, 0, $1, $2) }
        case .png:
            bytes = try image.encode("pngsave") { mf_pngsave($0, $1, $2) }
        }
        return RenderedImage(name: "transform", mimeType: transform.output.mimeType,
                             fileExtension: transform.output.fileExtension, width: image.width, height: image.height,
                             data: bytes)
    }
}
