/// Where a stored original says where it was made, and how to say nothing instead (SPEC §10, issue 27 defect 8):
/// same-length patches that blank the location in a file's metadata, without re-encoding anything. Because every
/// patch keeps the file's length and layout, the original can be served with them applied while it streams, ranges
/// included: nothing else about the file changes.
///
/// What is blanked: EXIF's GPS IFD (JPEG APP1, PNG eXIf, WebP EXIF), XMP's `exif:GPS*` properties (JPEG, PNG iTXt,
/// WebP XMP, MP4's XMP box), and QuickTime/MP4 location atoms (`©xyz`, `loci`, and the `keys`/`ilst` item
/// `com.apple.quicktime.location.ISO6709`). The input is untrusted: every offset is checked, nothing is followed out
/// of its box, and malformed metadata yields no patch rather than an error.
public enum LocationScrubber {
    /// Bytes to write over the file at `offset`.
    public struct Patch: Sendable, Equatable {
        public var offset: Int64
        public var bytes: [UInt8]

        public init(offset: Int64, bytes: [UInt8]) {
            self.offset = offset
            self.bytes = bytes
        }
    }

    /// Reads a file's bytes by range (a stored object: local disk, S3).
    public typealias Reader = @Sendable (_ offset: Int64, _ length: Int) async throws -> [UInt8]

    /// How much of an image's start is read for its metadata (JPEG APP segments, PNG and WebP chunks come first).
    public static let imageHeadBytes = 1 << 20
    /// The largest `moov` box read for its location atoms.
    public static let maxMovieBoxBytes = 64 << 20

    /// The patches that remove the location from the file of `format`, `size` bytes long.
    public static func patches(format: MediaFormat, size: Int64, read: Reader) async throws -> [Patch] {
        switch format {
        case .jpeg:
            return jpeg(try await read(0, Int(min(size, Int64(imageHeadBytes)))))
        case .png:
            return png(try await read(0, Int(min(size, Int64(imageHeadBytes)))))
        case .webp:
            return webp(try await read(0, Int(min(size, Int64(imageHeadBytes)))))
        case .mp4, .quicktime:
            return try await movie(size: size, read: read)
        case .gif, .bmp, .avi, .matroska, .webm, .mp3, .wav, .ogg, .aac, .m4a:
            return []
        }
    }

    /// `bytes` with `patches` written over them, `bytes` being the file's bytes from `offset` on.
    public static func apply(_ patches: [Patch], to bytes: inout [UInt8], at offset: Int64) {
        let end = offset + Int64(bytes.count)
        for patch in patches {
            let patchEnd = patch.offset + Int64(patch.bytes.count)
            guard patch.offset < end, patchEnd > offset else { continue }
            let from = max(patch.offset, offset), to = min(patchEnd, end)
            for position in from..<to {
                bytes[Int(position - offset)] = patch.bytes[Int(position - patch.offset)]
            }
        }
    }

    // MARK: JPEG

    /// APP1 segments before the image data: EXIF's GPS IFD and XMP's GPS properties.
    static func jpeg(_ head: [UInt8]) -> [Patch] {
        guard head.count >= 4, head[0] == 0xFF, head[1] == 0xD8 else { return [] }
        var patches: [Patch] = []
        var at = 2
        while at + 4 <= head.count, head[at] == 0xFF {
            let marker = head[at + 1]
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { at += 2; continue }
            if marker == 0xDA || marker == 0xD9 { break }  // the image data (or its end) starts: no metadata after
            let length = Int(head[at + 2]) << 8 | Int(head[at + 3])
            let start = at + 4, end = at + 2 + length
            guard length >= 2, end <= head.count else { break }
            if marker == 0xE1 {
                let payload = head[start..<end]
                if payload.starts(with: Array("Exif\0\0".utf8)) {
                    patches += tiffGPS(head, tiffStart: start + 6, end: end)
                } else if payload.starts(with: Array("http://ns.adobe.com/xap/1.0/\0".utf8))
                            || payload.starts(with: Array("http://ns.adobe.com/xmp/extension/\0".utf8)) {
                    patches += xmpGPS(head, start: start, end: end)
                }
            }
            at = end
        }
        return patches
    }

    // MARK: PNG

    /// `eXIf` (EXIF) and `iTXt` XMP chunks; each patched chunk gets its CRC written again.
    static func png(_ head: [UInt8]) -> [Patch] {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard head.starts(with: signature) else { return [] }
        var patches: [Patch] = []
        var at = 8
        while at + 12 <= head.count {
            let length = Int(readUInt32(head, at, bigEndian: true))
            let type = String(decoding: head[(at + 4)..<(at + 8)], as: UTF8.self)
            let dataStart = at + 8, dataEnd = dataStart + length
            guard length >= 0, dataEnd + 4 <= head.count else { break }
            if type == "IDAT" || type == "IEND" { break }
            var found: [Patch] = []
            if type == "eXIf" {
                found = tiffGPS(head, tiffStart: dataStart, end: dataEnd)
            } else if type == "iTXt", head[dataStart..<dataEnd].starts(with: Array("XML:com.adobe.xmp\0".utf8)) {
                found = xmpGPS(head, start: dataStart, end: dataEnd)
            }
            if !found.isEmpty {
                patches += found
                var chunk = Array(head[(at + 4)..<dataEnd])
                apply(found, to: &chunk, at: Int64(at + 4))
                let crc = CRC32.checksum(chunk)
                patches.append(Patch(offset: Int64(dataEnd), bytes: [
                    UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF),
                ]))
            }
            at = dataEnd + 4
        }
        return patches
    }

    // MARK: WebP

    /// `EXIF` and `XMP ` chunks of the RIFF container.
    static func webp(_ head: [UInt8]) -> [Patch] {
        guard head.count >= 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) else { return [] }
        var patches: [Patch] = []
        var at = 12
        while at + 8 <= head.count {
            let type = String(decoding: head[at..<(at + 4)], as: UTF8.self)
            let length = Int(readUInt32(head, at + 4, bigEndian: false))
            let dataStart = at + 8, dataEnd = dataStart + length
            guard dataEnd <= head.count else { break }
            if type == "EXIF" {
                // Some writers keep JPEG's "Exif\0\0" in front of the TIFF header.
                let tiff = head[dataStart..<dataEnd].starts(with: Array("Exif\0\0".utf8)) ? dataStart + 6 : dataStart
                patches += tiffGPS(head, tiffStart: tiff, end: dataEnd)
            } else if type == "XMP " {
                patches += xmpGPS(head, start: dataStart, end: dataEnd)
            }
            at = dataEnd + (length & 1)
        }
        return patches
    }

    // MARK: TIFF (EXIF)

    /// Empties the GPS IFD of the TIFF structure in `bytes[tiffStart..<end]`: its entry count becomes 0 and its entries
    /// and the values they point to become zeros. The IFD0 pointer to it stays (to an IFD with no entries).
    static func tiffGPS(_ bytes: [UInt8], tiffStart: Int, end: Int) -> [Patch] {
        guard tiffStart + 8 <= end, end <= bytes.count else { return [] }
        let big: Bool
        switch (bytes[tiffStart], bytes[tiffStart + 1]) {
        case (0x4D, 0x4D): big = true
        case (0x49, 0x49): big = false
        default: return []
        }
        func u16(_ offset: Int) -> Int? {
            let at = tiffStart + offset
            guard offset >= 0, at + 2 <= end else { return nil }
            return Int(big ? UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) : UInt16(bytes[at + 1]) << 8 | UInt16(bytes[at]))
        }
        func u32(_ offset: Int) -> Int? {
            let at = tiffStart + offset
            guard offset >= 0, at + 4 <= end else { return nil }
            return Int(readUInt32(bytes, at, bigEndian: big))
        }
        guard u16(2) == 42, let ifd0 = u32(4), let count0 = u16(ifd0), count0 <= 4096 else { return [] }
        var gpsOffset: Int?
        for i in 0..<count0 {
            let entry = ifd0 + 2 + i * 12
            if u16(entry) == 0x8825 { gpsOffset = u32(entry + 8) }
        }
        guard let gps = gpsOffset, let count = u16(gps), count > 0, count <= 4096,
              tiffStart + gps + 2 + count * 12 + 4 <= end
        else { return [] }
        let typeSizes = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8]
        var patches = [Patch(offset: Int64(tiffStart + gps), bytes: [0, 0])]
        // The entries and the next-IFD pointer after them.
        patches.append(Patch(offset: Int64(tiffStart + gps + 2), bytes: [UInt8](repeating: 0, count: count * 12 + 4)))
        for i in 0..<count {
            let entry = gps + 2 + i * 12
            guard let type = u16(entry + 2), let items = u32(entry + 4), let size = typeSizes[type] else { continue }
            let total = items.multipliedReportingOverflow(by: size)
            guard !total.overflow, total.partialValue > 4, total.partialValue <= end - tiffStart,
                  let valueOffset = u32(entry + 8), valueOffset + total.partialValue <= end - tiffStart
            else { continue }
            patches.append(Patch(offset: Int64(tiffStart + valueOffset), bytes: [UInt8](repeating: 0, count: total.partialValue)))
        }
        return patches
    }

    // MARK: XMP

    /// Spaces over every `exif:GPS…` property in the XMP text `bytes[start..<end]`: as an attribute
    /// (`exif:GPSLatitude="…"`) or an element (`<exif:GPSLatitude>…</exif:GPSLatitude>`). The XML stays well-formed.
    static func xmpGPS(_ bytes: [UInt8], start: Int, end: Int) -> [Patch] {
        let name = Array("exif:GPS".utf8)
        var patches: [Patch] = []
        var at = start
        while let found = firstIndex(of: name, in: bytes, from: at, to: end) {
            if found > start, bytes[found - 1] == UInt8(ascii: "<") {
                // An element: from its "<" to the end of its closing tag (or of itself, when empty: "/>").
                var nameEnd = found + name.count
                while nameEnd < end, isNameByte(bytes[nameEnd]) { nameEnd += 1 }
                let closing = Array("</".utf8) + Array(bytes[found..<nameEnd]) + [UInt8(ascii: ">")]
                let elementEnd: Int?
                if let selfClosing = firstIndex(of: Array("/>".utf8), in: bytes, from: nameEnd, to: end),
                   firstIndex(of: [UInt8(ascii: ">")], in: bytes, from: nameEnd, to: end) == selfClosing + 1 {
                    elementEnd = selfClosing + 2
                } else {
                    elementEnd = firstIndex(of: closing, in: bytes, from: nameEnd, to: end).map { $0 + closing.count }
                }
                guard let elementEnd else { at = nameEnd; continue }
                patches.append(Patch(offset: Int64(found - 1), bytes: [UInt8](repeating: 0x20, count: elementEnd - found + 1)))
                at = elementEnd
            } else {
                // An attribute: name="value" or name='value'.
                var cursor = found + name.count
                while cursor < end, isNameByte(bytes[cursor]) { cursor += 1 }
                while cursor < end, bytes[cursor] == 0x20 || bytes[cursor] == UInt8(ascii: "=") { cursor += 1 }
                guard cursor < end, bytes[cursor] == UInt8(ascii: "\"") || bytes[cursor] == UInt8(ascii: "'") else {
                    at = cursor
                    continue
                }
                let quote = bytes[cursor]
                guard let close = firstIndex(of: [quote], in: bytes, from: cursor + 1, to: end) else { break }
                patches.append(Patch(offset: Int64(found), bytes: [UInt8](repeating: 0x20, count: close + 1 - found)))
                at = close + 1
            }
        }
        return patches
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    // MARK: QuickTime / MP4

    static let xmpUUID: [UInt8] = [0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC]

    /// Top-level boxes read by their headers only (`mdat` is skipped, never read); `moov` read whole and searched.
    static func movie(size: Int64, read: Reader) async throws -> [Patch] {
        var patches: [Patch] = []
        var at: Int64 = 0
        var boxes = 0
        while at + 8 <= size, boxes < 10_000 {
            boxes += 1
            let header = try await read(at, Int(min(16, size - at)))
            guard header.count >= 8 else { break }
            var length = Int64(readUInt32(header, 0, bigEndian: true))
            var headerLength: Int64 = 8
            if length == 1 {
                guard header.count >= 16 else { break }
                length = Int64(bitPattern: UInt64(readUInt32(header, 8, bigEndian: true)) << 32 | UInt64(readUInt32(header, 12, bigEndian: true)))
                headerLength = 16
            } else if length == 0 {
                length = size - at
            }
            // `length <= size - at`, not `at + length <= size`: a 64-bit size near Int64.max would overflow the sum.
            guard length >= headerLength, length <= size - at else { break }
            let type = Array(header[4..<8])
            if type == Array("moov".utf8), length <= Int64(maxMovieBoxBytes) {
                let moov = try await read(at, Int(length))
                patches += movieBox(moov, base: at, start: Int(headerLength), end: moov.count)
            } else if type == Array("uuid".utf8), length <= Int64(imageHeadBytes), length >= 24 {
                let box = try await read(at, Int(length))
                if Array(box[8..<24]) == xmpUUID {
                    patches += xmpGPS(box, start: 24, end: box.count).map { Patch(offset: at + $0.offset, bytes: $0.bytes) }
                }
            }
            at += length
        }
        return patches
    }

    /// The children of a container box in `bytes[start..<end]` (`base` is where `bytes` starts in the file): location
    /// atoms become `free` boxes of the same size, location items of `keys`/`ilst` are blanked, XMP is searched.
    static func movieBox(_ bytes: [UInt8], base: Int64, start: Int, end: Int, depth: Int = 0) -> [Patch] {
        guard depth < 12 else { return [] }
        var patches: [Patch] = []
        var locationKeys: Set<Int> = []
        var at = start
        while at + 8 <= end {
            var length = Int(readUInt32(bytes, at, bigEndian: true))
            var headerLength = 8
            if length == 1 {
                guard at + 16 <= end else { break }
                let wide = UInt64(readUInt32(bytes, at + 8, bigEndian: true)) << 32 | UInt64(readUInt32(bytes, at + 12, bigEndian: true))
                guard wide <= UInt64(end - at) else { break }
                length = Int(wide)
                headerLength = 16
            } else if length == 0 {
                length = end - at
            }
            guard length >= headerLength, at + length <= end else { break }
            let type = Array(bytes[(at + 4)..<(at + 8)])
            let boxEnd = at + length
            switch type {
            case [0xA9, 0x78, 0x79, 0x7A], Array("loci".utf8):  // ©xyz, 3GPP location
                patches.append(Patch(offset: base + Int64(at + 4), bytes: Array("free".utf8)))
            case Array("moov".utf8), Array("trak".utf8), Array("udta".utf8), Array("mdia".utf8), Array("minf".utf8):
                patches += movieBox(bytes, base: base, start: at + headerLength, end: boxEnd, depth: depth + 1)
            case Array("meta".utf8):
                // ISO's `meta` is a full box (4 bytes of version and flags before its children); QuickTime's is not:
                // its first child (`hdlr`) starts at once.
                let children = at + headerLength
                let quickTime = children + 8 <= boxEnd && Array(bytes[(children + 4)..<(children + 8)]) == Array("hdlr".utf8)
                patches += movieBox(bytes, base: base, start: children + (quickTime ? 0 : 4), end: boxEnd, depth: depth + 1)
            case Array("keys".utf8):
                let (keyPatches, indexes) = locationKeyPatches(bytes, base: base, start: at + headerLength, end: boxEnd)
                patches += keyPatches
                locationKeys = indexes
            case Array("ilst".utf8):
                patches += itemPatches(bytes, base: base, start: at + headerLength, end: boxEnd, keys: locationKeys)
            case Array("XMP_".utf8):
                patches += xmpGPS(bytes, start: at + headerLength, end: boxEnd).map { Patch(offset: base + $0.offset, bytes: $0.bytes) }
            default:
                break
            }
            at = boxEnd
        }
        return patches
    }

    /// `keys` (version/flags, count, then each key as size, namespace, name): the indexes (1-based) of location keys,
    /// and patches that rename each such key to `x`s (a key nobody reads).
    static func locationKeyPatches(_ bytes: [UInt8], base: Int64, start: Int, end: Int) -> ([Patch], Set<Int>) {
        guard start + 8 <= end else { return ([], []) }
        let count = Int(readUInt32(bytes, start + 4, bigEndian: true))
        var patches: [Patch] = []
        var indexes: Set<Int> = []
        var at = start + 8
        for index in 1...max(1, min(count, 1024)) where count > 0 {
            guard at + 8 <= end else { break }
            let size = Int(readUInt32(bytes, at, bigEndian: true))
            guard size >= 8, at + size <= end else { break }
            let name = String(decoding: bytes[(at + 8)..<(at + size)], as: UTF8.self)
            if name.lowercased().contains("location") {
                indexes.insert(index)
                patches.append(Patch(offset: base + Int64(at + 8), bytes: [UInt8](repeating: UInt8(ascii: "x"), count: size - 8)))
            }
            at += size
        }
        return (patches, indexes)
    }

    /// `ilst` items whose key index is a location key: their whole content (the `data` box's value) becomes spaces.
    static func itemPatches(_ bytes: [UInt8], base: Int64, start: Int, end: Int, keys: Set<Int>) -> [Patch] {
        var patches: [Patch] = []
        var at = start
        while at + 8 <= end {
            let size = Int(readUInt32(bytes, at, bigEndian: true))
            guard size >= 8, at + size <= end else { break }
            let index = Int(readUInt32(bytes, at + 4, bigEndian: true))
            // The item's `data` box: size, "data", type (4), locale (4), then the value.
            if keys.contains(index), at + 24 <= at + size {
                let valueStart = at + 8 + 16
                if valueStart < at + size {
                    patches.append(Patch(offset: base + Int64(valueStart), bytes: [UInt8](repeating: 0x20, count: at + size - valueStart)))
                }
            }
            at += size
        }
        return patches
    }

    // MARK: helpers

    static func readUInt32(_ bytes: [UInt8], _ at: Int, bigEndian: Bool) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { return 0 }
        let b = (UInt32(bytes[at]), UInt32(bytes[at + 1]), UInt32(bytes[at + 2]), UInt32(bytes[at + 3]))
        return bigEndian ? b.0 << 24 | b.1 << 16 | b.2 << 8 | b.3 : b.3 << 24 | b.2 << 16 | b.1 << 8 | b.0
    }

    static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from: Int, to: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, to <= bytes.count, to - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= to {
            if bytes[i] == needle[0], Array(bytes[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// CRC-32 (ISO 3309, as PNG chunks use it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
