import Foundation

/// Signs that a file was cut short which libav does not report as errors: it happily decodes what is there.
/// Complements the transcoder's other checks (decoded duration vs declared duration, a damaged last packet).
enum TruncationCheck {
    /// Why `path` (a file libav identified as `formatName`) looks truncated, or nil when nothing says so.
    static func reason(path: String, formatName: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        guard let size = try? file.seekToEnd() else { return nil }
        switch formatName {
        case "wav": return wav(file, size: size)
        case "ogg": return ogg(file, size: size)
        default: return nil
        }
    }

    /// RIFF/WAVE: the `data` chunk's declared size must fit in the file. Sizes 0 and 0xFFFFFFFF mean "unknown"
    /// (written by a streaming muxer) and are not judged.
    private static func wav(_ file: FileHandle, size: UInt64) -> String? {
        guard read(file, at: 0, count: 12).starts(with: Array("RIFF".utf8)) else { return nil }
        var offset: UInt64 = 12
        for _ in 0..<64 {  // a WAV has a handful of chunks; stop on nonsense
            let header = read(file, at: offset, count: 8)
            guard header.count == 8 else { return nil }
            let chunkSize = UInt64(header[4]) | UInt64(header[5]) << 8 | UInt64(header[6]) << 16 | UInt64(header[7]) << 24
            if header.starts(with: Array("data".utf8)) {
                guard chunkSize != 0, chunkSize != 0xFFFF_FFFF else { return nil }
                let end = offset + 8 + chunkSize
                return end > size ? "the WAV data chunk declares \(chunkSize) bytes, the file ends \(end - size) bytes short" : nil
            }
            offset += 8 + chunkSize + (chunkSize & 1)
        }
        return nil
    }

    /// Ogg: the last page must be complete and carry the end-of-stream flag.
    private static func ogg(_ file: FileHandle, size: UInt64) -> String? {
        let tailLength = min(size, 128 * 1024)
        let start = size - tailLength
        let tail = read(file, at: start, count: Int(tailLength))
        let capture = Array("OggS".utf8)
        var index = tail.count - 27
        while index >= 0 {
            if tail[index] == capture[0], tail[index + 1] == capture[1], tail[index + 2] == capture[2],
               tail[index + 3] == capture[3], tail[index + 4] == 0 {
                let segments = Int(tail[index + 26])
                guard index + 27 + segments <= tail.count else { return "the last Ogg page is cut off" }
                let body = tail[(index + 27)..<(index + 27 + segments)].reduce(0) { $0 + Int($1) }
                if index + 27 + segments + body > tail.count { return "the last Ogg page is cut off" }
                return tail[index + 5] & 0x04 == 0 ? "the Ogg stream has no end-of-stream page" : nil
            }
            index -= 1
        }
        return nil
    }

    private static func read(_ file: FileHandle, at offset: UInt64, count: Int) -> [UInt8] {
        guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count) else { return [] }
        return [UInt8](data)
    }
}
