import MediaDomain
/// One encoded output of the pipeline.
public struct RenderedImage: Sendable, Hashable {
    /// The name of the `ImageRenditionSpec` this was made from.
    public let name: String
    /// `image/jpeg`, `image/webp` or `image/avif`.
    public let mimeType: String
    /// The stored file's extension: `jpg`, `webp` or `avif`.
    public let fileExtension: String
    /// Pixel width of the encoded image.
    public let width: Int
    /// Pixel height of the encoded image.
    public let height: Int
    /// The encoded file.
    public let data: [UInt8]

    /// Creates a rendered image.
    public init(name: String, mimeType: String, fileExtension: String, width: Int, height: Int, data: [UInt8]) {
        self.name = name
        self.mimeType = mimeType
        self.fileExtension = fileExtension
        self.width = width
        self.height = height
        self.data = data
    }
}
