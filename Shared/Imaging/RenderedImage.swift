import MediaDomain
/// One encoded output of the pipeline.
public struct RenderedImage: Sendable, Hashable {
    /// The name of the `ImageRenditionSpec` this was made from.
    public let name: String
    /// `image/jpeg` or `image/webp`.
    public let mimeType: String
    /// Pixel width of the encoded image.
    public let width: Int
    /// Pixel height of the encoded image.
    public let height: Int
    /// The encoded file.
    public let data: [UInt8]

    /// Creates a rendered image.
    public init(name: String, mimeType: String, width: Int, height: Int, data: [UInt8]) {
        self.name = name
        self.mimeType = mimeType
        self.width = width
        self.height = height
        self.data = data
    }
}
