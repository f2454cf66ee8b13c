/// Removes metadata chunks from a WebP file.
///
/// libvips 8.14.1's `webpsave` ignores `strip` (it reads a shadowed field) and always writes an EXIF chunk,
/// including GPS tags of the source, so outputs are cleaned here: `EXIF`, `XMP ` and `ICCP` chunks are dropped
/// and their `VP8X` flags cleared. Bytes that are not a well-formed RIFF/WebP file are returned unchanged.
enum WebPMetadata {
    private static let metadataChunks: Set<[UInt8]> = [Array("EXIF".utf8), Array("XMP ".utf8), Array("ICCP".utf8)]
    /// VP8X flag bits for ICC profile, EXIF and XMP.
    private static let metadataFlags: UInt8 = 0x20 | 0x08 | 0x04

    static func strip(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8)
        else { return bytes }
        var body: [UInt8] = []
        body.reserveCapacity(bytes.count)
        var offset = 12
        var removed = false
        while offset + 8 <= bytes.count {
            let fourCC = Array(bytes[offset..<offset + 4])
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16
                | Int(bytes[offset + 7]) << 24
            let end = offset + 8 + size + (size & 1)
            guard end <= bytes.count || (end == bytes.count + 1 && size & 1 == 1) else { return bytes }
            let chunkEnd = min(end, bytes.count)
            if metadataChunks.contains(fourCC) {
                removed = true
            } else {
                var chunk = Array(bytes[offset..<chunkEnd])
                if fourCC == Array("VP8X".utf8), chunk.count > 8 { chunk[8] &= ~metadataFlags }
                body += chunk
            }
            offset = end
        }
        guard removed else { return bytes }
        let riffSize = UInt32(4 + body.count)
        var output = Array("RIFF".utf8)
        output += [UInt8(riffSize & 0xFF), UInt8(riffSize >> 8 & 0xFF), UInt8(riffSize >> 16 & 0xFF), UInt8(riffSize >> 24)]
        output += Array("WEBP".utf8)
        output += body
        return output
    }
}
