import Crypto
import Foundation
import Synchronization

/// HS256 bearer tokens, compatible with djangorestframework-simplejwt access tokens (SPEC §1 Auth).
///
/// Written directly on swift-crypto's HMAC: the format is three base64url parts and a constant-time MAC
/// comparison, and owning it keeps per-request work to one HMAC and one small JSON decode.
public struct JWTAuthenticator: Sendable {
    private let key: SymmetricKey
    private let verified = VerifiedTokens()

    public init(secret: String) {
        key = SymmetricKey(data: Data(secret.utf8))
    }

    /// The user a token names, or `TokenError` saying why not.
    ///
    /// A client sends the same token with every request until it expires, so tokens that verified are
    /// remembered (until their `exp`) and the HMAC and JSON work happens once per token, not per request.
    public func authenticate(token: String, now: Date = Date()) throws(TokenError) -> AuthenticatedUser {
        try credentials(token: token, now: now).user
    }

    /// The user a token names and when the token expires: what lives on after the request that showed the token (a
    /// live-status stream, an admin session) ends then.
    public func credentials(token: String, now: Date = Date()) throws(TokenError) -> (user: AuthenticatedUser, expiresAt: Date) {
        if let hit = verified.entry(for: token, now: now) { return (hit.user, Date(timeIntervalSince1970: hit.expiry)) }
        let (user, expiry) = try verify(token: token, now: now)
        verified.remember(token, user: user, expiry: expiry)
        return (user, Date(timeIntervalSince1970: expiry))
    }

    private func verify(token: String, now: Date) throws(TokenError) -> (AuthenticatedUser, Double) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerData = Base64URL.decode(parts[0]),
              let payloadData = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw TokenError("malformed token") }
        guard let header = try? JSONDecoder().decode(TokenHeader.self, from: headerData), header.alg == "HS256" else {
            throw TokenError("unsupported algorithm")
        }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw TokenError("bad signature")
        }
        guard let claims = try? JSONDecoder().decode(TokenClaims.self, from: payloadData) else {
            throw TokenError("malformed claims")
        }
        guard let exp = claims.exp else { throw TokenError("no expiry") }
        guard exp > now.timeIntervalSince1970 else { throw TokenError("token is expired") }
        if let nbf = claims.nbf, nbf > now.timeIntervalSince1970 + 30 { throw TokenError("token not yet valid") }
        if claims.hasTokenType, claims.tokenType != "access" { throw TokenError("not an access token") }
        guard let id = claims.userId ?? claims.sub else { throw TokenError("no user id") }
        let username = claims.username ?? claims.preferredUsername ?? String(id)
        return (AuthenticatedUser(id: id, username: username, isStaff: claims.isStaff ?? false), exp)
    }

    /// Mints an access token (the dev command and tests use it).
    public func mint(user: AuthenticatedUser, lifetime: TimeInterval = 86_400, now: Date = Date()) -> String {
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        var claims: [String: Any] = [
            "token_type": "access",
            "user_id": user.id,
            "username": user.username,
            "exp": Int(now.timeIntervalSince1970 + lifetime),
            "iat": Int(now.timeIntervalSince1970),
            "jti": UUID().uuidString.lowercased(),
        ]
        if user.isStaff { claims["is_staff"] = true }
        let payload = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data()
        let input = Base64URL.encode(Data(header.utf8)) + "." + Base64URL.encode(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key)
        return input + "." + Base64URL.encode(Data(mac))
    }

    /// When a token expires (its `exp`), read without verifying it: call after `authenticate` accepted it (the admin
    /// session cookie expires with its token).
    public func expiry(of token: String) -> Date? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]),
              let exp = (try? JSONDecoder().decode(TokenClaims.self, from: payload))?.exp
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    /// A MAC of `message` under the token secret (the admin pages' CSRF tokens), base64url.
    public func mac(_ message: String) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)))
    }
}

/// Tokens that verified, with their expiry. Bounded: when full it starts over (a cache miss only costs a
/// verification).
final class VerifiedTokens: Sendable {
    private let entries = Mutex<[String: (user: AuthenticatedUser, expiry: Double)]>([:])
    private static let capacity = 10_000

    func entry(for token: String, now: Date) -> (user: AuthenticatedUser, expiry: Double)? {
        entries.withLock { e in
            guard let hit = e[token] else { return nil }
            guard hit.expiry > now.timeIntervalSince1970 else {
                e[token] = nil
                return nil
            }
            return hit
        }
    }

    func remember(_ token: String, user: AuthenticatedUser, expiry: Double) {
        entries.withLock { e in
            if e.count >= Self.capacity { e.removeAll(keepingCapacity: true) }
            e[token] = (user, expiry)
        }
    }
}

/// Why a token was refused ("bad signature", "token is expired", ...).
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

struct TokenHeader: Decodable {
    var alg: String
}

/// The claims we read. Each is decoded leniently on its own, so an odd extra claim never rejects a token,
/// while an id must be a JSON integer or a string of digits (simplejwt's `sub` is a string).
struct TokenClaims: Decodable {
    var userId: Int64?
    var sub: Int64?
    var username: String?
    var preferredUsername: String?
    var exp: Double?
    var nbf: Double?
    var tokenType: String?
    var hasTokenType: Bool
    var isStaff: Bool?

    enum CodingKeys: String, CodingKey {
        case userId = "user_id", sub, username, preferredUsername = "preferred_username", exp, nbf
        case tokenType = "token_type", isStaff = "is_staff"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func id(_ key: CodingKeys) -> Int64? {
            if let n = try? c.decode(Int64.self, forKey: key) { return n }
            if let s = try? c.decode(String.self, forKey: key) { return Int64(s) }
            return nil
        }
        userId = id(.userId)
        sub = id(.sub)
        username = try? c.decodeIfPresent(String.self, forKey: .username)
        preferredUsername = try? c.decodeIfPresent(String.self, forKey: .preferredUsername)
        exp = try? c.decodeIfPresent(Double.self, forKey: .exp)
        nbf = try? c.decodeIfPresent(Double.self, forKey: .nbf)
        hasTokenType = c.contains(.tokenType)
        tokenType = try? c.decodeIfPresent(String.self, forKey: .tokenType)
        isStaff = try? c.decodeIfPresent(Bool.self, forKey: .isStaff)
    }
}

/// base64url without padding (RFC 7515).
enum Base64URL {
    static func decode(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }

    static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
