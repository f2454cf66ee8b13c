import Crypto
import Foundation

/// AWS Signature Version 4 for S3 (header and query-string forms), written over swift-crypto because no S3 SDK is
/// at hand. Pure: a request's parts in, the headers (or the URL) to send out; checked against the worked examples
/// of AWS's SigV4 documentation in the tests.
public struct SigV4Signer: Sendable {
    public let accessKey: String
    let secretKey: String
    /// Temporary credentials' session token (`AWS_SESSION_TOKEN`): sent as `x-amz-security-token` (signed), or as
    /// `X-Amz-Security-Token` in a presigned URL.
    let sessionToken: String?
    public let region: String
    public let service: String

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String, service: String = "s3") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// How a query string is written, in the URL and in the canonical request alike. SigV4 encodes `/` in a value
    /// as `%2F` (`standard`); some S3-compatible servers check the signature against the query with `/` decoded
    /// (moto 5.2.1 behind werkzeug's IRI URL, seen here), and refuse every standard signature with a `/` in a value.
    public enum QueryStyle: Sendable, Equatable {
        case standard
        case literalSlash
    }

    /// The SHA-256 of an empty body, as S3 wants it for GET, HEAD and DELETE.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// For bodies streamed without hashing them first (S3 accepts it; the signature still covers everything else).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String { hex(SHA256.hash(data: data)) }

    /// The headers to add to a request so S3 accepts it: `x-amz-date`, `x-amz-content-sha256` and `authorization`.
    /// `path` is the raw (not yet encoded) object path such as `/bucket/media/x/original.jpg`; `query` raw pairs;
    /// `headers` every other header that is sent and should be signed (`host` is required).
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [String: String], payloadHash: String,
        date: Date = Date(), queryStyle: QueryStyle = .standard
    ) -> [String: String] {
        let (amzDate, day) = Self.timestamps(date)
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), Self.trim($0.value)) })
        signed["x-amz-date"] = amzDate
        signed["x-amz-content-sha256"] = payloadHash
        if let sessionToken { signed["x-amz-security-token"] = sessionToken }
        let names = signed.keys.sorted()
        let canonical = [
            method, Self.encodePath(path), Self.canonicalQuery(query, style: queryStyle),
            names.map { "\($0):\(signed[$0] ?? "")\n" }.joined(), names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let signature = signature(canonical: canonical, amzDate: amzDate, scope: scope, day: day)
        var added = [
            "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash,
            "authorization": "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope),SignedHeaders=\(names.joined(separator: ";")),Signature=\(signature)",
        ]
        if let sessionToken { added["x-amz-security-token"] = sessionToken }
        return added
    }

    /// A presigned URL (query-string authentication) for `method` on `path`, valid `expires` seconds from `date`.
    /// `base` is the scheme and authority (`http://127.0.0.1:9000`); `host` the `Host` header the URL will carry.
    public func presignedURL(
        method: String = "GET", base: String, host: String, path: String, expires: Int, date: Date = Date()
    ) -> String {
        let (amzDate, day) = Self.timestamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        var query: [(String, String)] = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKey)/\(scope)"),
            ("X-Amz-Date", amzDate), ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", "host"),
        ]
        if let sessionToken { query.append(("X-Amz-Security-Token", sessionToken)) }
        let canonical = [
            method, Self.encodePath(path), Self.canonicalQuery(query), "host:\(host)\n", "host", Self.unsignedPayload,
        ].joined(separator: "\n")
        let signature = signature(canonical: canonical, amzDate: amzDate, scope: scope, day: day)
        return "\(base)\(Self.encodePath(path))?\(Self.canonicalQuery(query))&X-Amz-Signature=\(signature)"
    }

    private func signature(canonical: String, amzDate: String, scope: String, day: String) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.sha256Hex(Data(canonical.utf8))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    // MARK: Canonical forms

    /// RFC 3986 unreserved characters are kept; everything else is %XX (uppercase), as SigV4 requires.
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// The path as sent and as signed (S3 encodes each segment once, keeping the slashes).
    public static func encodePath(_ path: String) -> String { encode(path.isEmpty ? "/" : path, keepSlash: true) }

    /// `a=1&b=2` with keys and values encoded, sorted by key (then value); the URL sends exactly this.
    public static func canonicalQuery(_ query: [(String, String)], style: QueryStyle = .standard) -> String {
        let keepSlash = style == .literalSlash
        return query.map { (encode($0.0, keepSlash: keepSlash), encode($0.1, keepSlash: keepSlash)) }.sorted { $0 < $1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func trim(_ value: String) -> String {
        value.trimmingCharacters(in: .whitespaces).split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d%02d%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
        return ("\(day)T" + String(format: "%02d%02d%02dZ", c.hour ?? 0, c.minute ?? 0, c.second ?? 0), day)
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
