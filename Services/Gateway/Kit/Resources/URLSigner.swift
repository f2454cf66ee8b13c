import Crypto
import Foundation

/// Expiring HMAC signatures for the file URLs of private media (`?exp=&sig=`).
///
/// Expiry is rounded up to a whole window so the same media answers the same URLs for a while: browsers
/// and CDNs can cache them, and repeated API reads stay identical.
public struct URLSigner: Sendable {
    private let key: SymmetricKey
    package let lifetime: Int

    public init(secret: String, lifetime: Duration) {
        // A key of its own, derived from the secret, so a file signature can never pass as a token's.
        key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(
            for: Data("mediaflow-file-urls".utf8), using: SymmetricKey(data: Data(secret.utf8)))))
        self.lifetime = Int(lifetime.components.seconds)
    }

    public func query(for key: String, now: Date = Date()) -> String {
        let window = max(60, lifetime / 4)
        let exp = (Int(now.timeIntervalSince1970) + lifetime + window - 1) / window * window
        return "exp=\(exp)&sig=\(signature(key: key, exp: exp))"
    }

    public func isValid(key: String, exp: String?, sig: String?, now: Date = Date()) -> Bool {
        guard let exp, let sig, let expiry = Int(exp), expiry > Int(now.timeIntervalSince1970),
              let given = Data(hex: sig)
        else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data("\(key)|\(expiry)".utf8), using: self.key)
    }

    package func signature(key: String, exp: Int) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(key)|\(exp)".utf8), using: self.key)
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    package init?(hex: String) {
        guard hex.count % 2 == 0, hex.count <= 128 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
