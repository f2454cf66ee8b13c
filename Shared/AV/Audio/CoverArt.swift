import Placeholders

/// Cover art (an attached-picture stream: its one packet is a complete JPEG or PNG) → the audio `thumbnail`:
/// a centred square of at most `maxSide` pixels (never enlarged), as a JPEG, and the placeholders of the whole
/// picture. Decoding uses the Core decoder; crop, scale and encode are the video pipeline's `JPEGWriter`, so both
/// thumbnails are made the same way.
enum CoverArtThumbnailer {
    static let maxSide = 150

    /// What was written: the thumbnail's size and the cover's placeholders.
    struct Written {
        var width: Int
        var height: Int
        var placeholder: ImagePlaceholder?
    }

    /// Writes the thumbnail of cover stream `index` of `input` to `path`, or answers nil when the picture cannot
    /// be decoded: broken cover art must not fail an otherwise good audio file.
    static func write(input: MediaInput, stream index: Int, to path: String) -> Written? {
        guard let bytes = input.streams[index].attachedPicture, !bytes.isEmpty else { return nil }
        return try? make(input: input, stream: index, bytes: bytes, path: path)
    }

    private static func make(input: MediaInput, stream index: Int, bytes: [UInt8],
                             path: String) throws(AVError) -> Written? {
        let decoder = try Decoder(input: input, stream: index, threads: 1)
        let picture = Frame()
        try decoder.send(try Packet(copying: bytes))
        try decoder.send(nil)
        guard try decoder.receive(into: picture), picture.width > 0, picture.height > 0 else { return nil }
        let side = min(maxSide, picture.width, picture.height)
        _ = try JPEGWriter.write(picture, width: side, height: side, cropSquare: true, to: path)
        return Written(width: side, height: side, placeholder: try? FramePlaceholder.make(from: picture) ?? nil)
    }
}
