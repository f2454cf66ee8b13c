import Foundation

/// A supported input format, decided from the first bytes of the file (never from its name).
enum SourceFormat: String, Sendable {
    case jpeg, png, gif, webp, bmp

    /// Reads the file's magic bytes.
    static func sniff(path: String) throws(ImagingError) -> SourceFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .decodeFailed("cannot open \(path)")
        }
        defer { try? handle.close() }
        let head: [UInt8]
        do {
            head = [UInt8](try handle.read(upToCount: 16) ?? Data())
        } catch {
            throw .decodeFailed("cannot read \(path): \(error)")
        }
        guard !head.isEmpty else { throw .decodeFailed("empty file") }
        guard let format = detect(head) else { throw .unsupportedFormat("content is not JPEG, PNG, GIF, WebP or BMP") }
        return format
    }

    /// Matches magic bytes against the supported formats.
    static func detect(_ head: [UInt8]) -> SourceFormat? {
        func starts(with prefix: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + prefix.count && Array(head[offset..<offset + prefix.count]) == prefix
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: Array("GIF87a".utf8)) || starts(with: Array("GIF89a".utf8)) { return .gif }
        if starts(with: Array("RIFF".utf8)) && starts(with: Array("WEBP".utf8), at: 8) { return .webp }
        if starts(with: Array("BM".utf8)) && head.count >= 14 { return .bmp }
        return nil
    }
}
