/// Decides a file's format from its first bytes (magic numbers), never from its name.
///
/// The Gateway calls this on the first chunk of an upload, before anything is stored, so it must work on a
/// prefix: `minimumPrefix` bytes are enough for every format (ID3-tagged MP3 is recognised by its tag).
public enum ContentSniffer {
    /// How many leading bytes the sniffer wants to see (fewer only when the file is shorter).
    public static let minimumPrefix = 64

    public static func sniff<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> MediaFormat?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        let b = Array(bytes.prefix(4096))
        func at(_ offset: Int, _ ascii: String) -> Bool {
            let pattern = Array(ascii.utf8)
            guard b.count >= offset + pattern.count else { return false }
            return Array(b[offset..<offset + pattern.count]) == pattern
        }
        func starts(_ magic: [UInt8]) -> Bool { b.count >= magic.count && Array(b[0..<magic.count]) == magic }

        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if at(0, "GIF87a") || at(0, "GIF89a") { return .gif }
        if at(0, "RIFF") {
            if at(8, "WEBP") { return .webp }
            if at(8, "WAVE") { return .wav }
            if at(8, "AVI ") { return .avi }
            return nil
        }
        if at(0, "BM"), b.count >= 26, isPlausibleBMP(b) { return .bmp }
        if at(4, "ftyp") { return isoBrand(b) }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) {
            // EBML: the DocType element says which flavour of Matroska this is.
            let head = b.prefix(128)
            if containsASCII(head, "webm") { return .webm }
            if containsASCII(head, "matroska") { return .matroska }
            return nil
        }
        if at(0, "OggS") { return .ogg }
        if at(0, "ID3") { return .mp3 }
        if b.count >= 2, b[0] == 0xFF, b[1] & 0xE0 == 0xE0 {
            let layer = (b[1] >> 1) & 0x03
            if layer == 0, b[1] & 0xF0 == 0xF0 { return .aac }  // ADTS: 12 sync bits, layer 0
            if layer == 1 { return .mp3 }  // MPEG audio layer III
        }
        return nil
    }

    /// ISO base media: the major brand (and compatible brands) tell MP4, QuickTime and M4A apart.
    private static func isoBrand(_ b: [UInt8]) -> MediaFormat? {
        guard b.count >= 12 else { return nil }
        let major = String(decoding: b[8..<12], as: UTF8.self)
        switch major {
        case "qt  ": return .quicktime
        case "M4A ", "M4B ", "M4P ": return .m4a
        default: return .mp4
        }
    }

    private static func isPlausibleBMP(_ b: [UInt8]) -> Bool {
        // The DIB header size is one of a few known values; "BM" alone is too weak a signature.
        let dib = UInt32(b[14]) | UInt32(b[15]) << 8 | UInt32(b[16]) << 16 | UInt32(b[17]) << 24
        return [12, 40, 52, 56, 64, 108, 124].contains(dib)
    }

    private static func containsASCII(_ haystack: ArraySlice<UInt8>, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        let h = Array(haystack)
        guard h.count >= n.count else { return false }
        for i in 0...(h.count - n.count) where Array(h[i..<i + n.count]) == n { return true }
        return false
    }
}
