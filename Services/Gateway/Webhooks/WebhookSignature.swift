import Crypto
import Foundation
import GatewayKit

/// Standard Webhooks signing (standardwebhooks.com, SPEC §8): the secret is `whsec_` and base64 of the key; the
/// signature header is `v1,` and base64 of HMAC-SHA256 over `"<webhook-id>.<webhook-timestamp>.<body>"`. Receivers
/// verify with any Standard Webhooks library (or these few lines).
package enum WebhookSignature {
    package static let secretPrefix = "whsec_"

    /// A new secret: 24 random bytes.
    package static func newSecret() -> String {
        let key = SymmetricKey(size: .bits192)
        return secretPrefix + key.withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    /// `v1,<base64>`; nil for a secret that is not `whsec_<base64>`.
    package static func sign(secret: String, id: String, timestamp: Int64, body: String) -> String? {
        guard secret.hasPrefix(secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(secretPrefix.count)))
        else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }
}
