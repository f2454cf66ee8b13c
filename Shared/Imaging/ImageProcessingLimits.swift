/// Safety limits checked from the image header before any pixel is decoded.
public struct ImageProcessingLimits: Sendable, Hashable {
    /// The most pixels (width x height of one frame) an input may have; larger inputs fail with `image_too_large`.
    public var maxPixels: Int

    /// Creates limits; the default allows 100 megapixels.
    public init(maxPixels: Int = 100_000_000) {
        self.maxPixels = maxPixels
    }
}
