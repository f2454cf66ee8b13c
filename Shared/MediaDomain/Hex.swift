/// Lowercase hexadecimal, as `sha256sum`, SigV4 and W3C trace context write bytes and numbers: one implementation for
/// the content hash, the S3 signer, trace ids and perceptual hashes.
public enum Hex {
    private static let digits = Array("0123456789abcdef")

    /// Two digits a byte.
    public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var text = ""
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }

    /// Sixteen digits, leading zeros kept.
    public static func lowercase(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
