import Placeholders

/// What was learned about a source image, and the outputs rendered from it.
public struct ProcessedImage: Sendable, Hashable {
    /// Width of the upright original (EXIF orientation applied).
    public let width: Int
    /// Height of the upright original (EXIF orientation applied).
    public let height: Int
    /// The source format decided from the content: `jpeg`, `png`, `gif`, `webp` or `bmp`.
    public let format: String
    /// Whether the source has an alpha channel.
    public let hasAlpha: Bool
    /// Whether the source has more than one frame (only the first is rendered).
    public let animated: Bool
    /// Number of frames in the source (1 for still images).
    public let pages: Int
    /// The outputs, in the order of the requested specs.
    public let renditions: [RenderedImage]
    /// ThumbHash and dominant colour of the upright picture (nil only for a picture libvips gives in bands no
    /// placeholder can be made of).
    public let placeholder: ImagePlaceholder?
    /// What computing `placeholder` cost.
    public let placeholderTime: Duration

    /// Creates a processed image description.
    public init(
        width: Int, height: Int, format: String, hasAlpha: Bool, animated: Bool, pages: Int,
        renditions: [RenderedImage], placeholder: ImagePlaceholder? = nil, placeholderTime: Duration = .zero
    ) {
        self.placeholder = placeholder
        self.placeholderTime = placeholderTime
        self.width = width
        self.height = height
        self.format = format
        self.hasAlpha = hasAlpha
        self.animated = animated
        self.pages = pages
        self.renditions = renditions
    }
}
