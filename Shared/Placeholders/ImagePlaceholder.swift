import MediaDomain

/// What a client paints before any file of a media arrives (SPEC §12): `metadata.thumbhash` and
/// `metadata.dominant_color`, and the picture's perceptual hash (SPEC §13 `metadata.phash`), all from one small
/// upright picture.
public struct ImagePlaceholder: Sendable, Hashable {
    /// The ThumbHash, standard base64.
    public let thumbhash: String
    /// `#rrggbb`.
    public let dominantColor: String
    /// `PerceptualHash`, 16 hex digits; nil when made from stored fields without one.
    public let phash: String?

    /// Nil when `pixels` is larger than `ThumbHash.maxSide` on a side (the producer shrinks first).
    public init?(_ pixels: RGBAPixels) {
        guard let hash = ThumbHash.encodeBase64(pixels) else { return nil }
        thumbhash = hash
        dominantColor = DominantColor.of(pixels)
        phash = PerceptualHash.hex(pixels)
    }

    public init(thumbhash: String, dominantColor: String, phash: String? = nil) {
        self.thumbhash = thumbhash
        self.dominantColor = dominantColor
        self.phash = phash
    }

    /// The size a picture of `width` x `height` is shrunk to for the placeholder: within `ThumbHash.maxSide`, aspect
    /// kept, at least 1 pixel a side.
    public static func targetSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let longer = max(width, height, 1)
        guard longer > ThumbHash.maxSide else { return (max(1, width), max(1, height)) }
        let scale = Double(ThumbHash.maxSide) / Double(longer)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    /// The media object's `metadata` members of a picture that stands for its media (an image, a video's poster):
    /// `thumbhash`, `dominant_color` and `phash`.
    public var metadataFields: [String: JSONValue] {
        var fields = placeholderFields
        if let phash { fields["phash"] = .string(phash) }
        return fields
    }

    /// `thumbhash` and `dominant_color` only: an audio file's cover art paints its placeholder, but two songs with
    /// the same cover are not near-duplicates (SPEC §13 hashes images and video posters).
    public var placeholderFields: [String: JSONValue] {
        ["thumbhash": .string(thumbhash), "dominant_color": .string(dominantColor)]
    }
}
