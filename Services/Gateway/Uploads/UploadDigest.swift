import Crypto
import NIOCore
import Storage

/// The SHA-256 of an original (SPEC §13 `sha256`), taken from the bytes on their way to storage: no second read.
///
/// Why each chunk is hashed while it is being written rather than before: hashing runs at about 2 GB/s here (BoringSSL
/// with the CPU's SHA extensions), so for a 97 MB video it is some 50 ms of CPU; one after the other it would add that
/// to an upload that takes 200 ms, while the write of a chunk mostly waits on the file system or the network to S3.
/// Overlapped, the cost hides behind the write.
package struct UploadDigest {
    private var hasher = SHA256()

    package init() {}

    /// Adds bytes that are not written through `write(_:to:)` (none are, today, but a caller may hash a prefix).
    package mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    /// Writes `buffer` to `writer` and hashes it meanwhile.
    package mutating func write(_ buffer: ByteBuffer, to writer: any BlobWriter) async throws {
        async let written: Void = writer.write(buffer)
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        try await written
    }

    /// Lowercase hex, as `sha256sum` prints it. The digest is final: call once.
    package func finish() -> String {
        let digest = hasher.finalize()
        var hex = ""
        hex.reserveCapacity(64)
        for byte in digest {
            hex.append(Self.digits[Int(byte >> 4)])
            hex.append(Self.digits[Int(byte & 0x0f)])
        }
        return hex
    }

    private static let digits = Array("0123456789abcdef")
}
