import Crypto
import Foundation

/// Signs and checks transform URLs (SPEC §12): the signature is the first 32 characters of the base64url HMAC-SHA256
/// of `<options>/<id>.<format>` (and `?exp=<n>` for private media) with `MEDIA_TRANSFORM_KEY`. Keys rotate by a list:
/// URLs are signed with the first, and a signature made with any of them is accepted, so a new key can be put first
/// while URLs minted with the old one still work until it is dropped.
package struct TransformSigner: Sendable {
    package static let signatureLength = 32
    private let keys: [SymmetricKey]

    /// Nil without a key: transforms are off.
    package init?(keys: [String]) {
        let usable = keys.filter { !$0.isEmpty }
        guard !usable.isEmpty else { return nil }
        self.keys = usable.map { SymmetricKey(data: Data($0.utf8)) }
    }

    /// The signature of `path` (`<options>/<id>.<format>[?exp=<n>]`) with the first key.
    package func sign(_ path: String) -> String {
        Self.signature(path, key: keys[0])
    }

    /// Whether `signature` is `path`'s with one of the keys, compared in constant time.
    package func verify(_ signature: String, path: String) -> Bool {
        let given = Array(signature.utf8)
        guard given.count == Self.signatureLength else { return false }
        var matched = false
        for key in keys {
            let expected = Array(Self.signature(path, key: key).utf8)
            var difference: UInt8 = 0
            for (a, b) in zip(given, expected) { difference |= a ^ b }
            matched = matched || difference == 0
        }
        return matched
    }

    private static func signature(_ path: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(path.utf8), using: key)
        let base64 = Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return String(base64.prefix(signatureLength))
    }
}
