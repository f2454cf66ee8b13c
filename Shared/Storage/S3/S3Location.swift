import Foundation

/// Where an S3-compatible bucket is and how to reach it: `MEDIA_STORAGE=s3://<bucket>?endpoint=<url>&region=<r>&
/// path_style=<bool>` and the credentials (SPEC §9).
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    /// Scheme, host and port of the service (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:59329`).
    public var endpoint: URL
    public var region: String
    /// `https://host/bucket/key` (true: MinIO, moto, most self-hosted stores) or `https://bucket.host/key` (AWS).
    public var pathStyle: Bool
    public var accessKey: String
    public var secretKey: String
    /// Temporary credentials' token (`AWS_SESSION_TOKEN`, or `MEDIA_S3_SESSION_TOKEN`): how most deployments run (an
    /// instance role, an assumed role).
    public var sessionToken: String?

    public init(bucket: String, endpoint: URL, region: String, pathStyle: Bool, accessKey: String, secretKey: String,
                sessionToken: String? = nil) {
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }

    /// Parses `s3://bucket?endpoint=…&region=…&path_style=…`; a missing endpoint means AWS in that region.
    public init(url: String, accessKey: String, secretKey: String, sessionToken: String? = nil) throws(StorageError) {
        guard let components = URLComponents(string: url), components.scheme == "s3",
              let bucket = components.host, bucket.count >= 3
        else { throw .invalidConfiguration("MEDIA_STORAGE must be s3://<bucket>?endpoint=<url>&region=<r>&path_style=<bool> (bucket names have 3 or more characters)") }
        var endpoint: String?
        var region = "us-east-1"
        var pathStyle: Bool?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "endpoint": endpoint = value
            case "region": region = value
            case "path_style":
                switch value.lowercased() {
                case "true", "1", "yes": pathStyle = true
                case "false", "0", "no": pathStyle = false
                default: throw .invalidConfiguration("MEDIA_STORAGE: path_style must be true or false, got \(value)")
                }
            default:
                throw .invalidConfiguration("MEDIA_STORAGE: unknown parameter \(item.name) (endpoint, region, path_style are read)")
            }
        }
        let base = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let endpointURL = URL(string: base), let scheme = endpointURL.scheme, scheme == "http" || scheme == "https",
              endpointURL.host != nil
        else { throw .invalidConfiguration("MEDIA_STORAGE: endpoint must be an http(s) URL, got \(base)") }
        guard !accessKey.isEmpty, !secretKey.isEmpty else {
            throw .invalidConfiguration("S3 storage needs AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or MEDIA_S3_ACCESS_KEY / MEDIA_S3_SECRET_KEY)")
        }
        self.init(bucket: bucket, endpoint: endpointURL, region: region, pathStyle: pathStyle ?? (endpoint != nil),
                  accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The `Host` header of the bucket's requests.
    var host: String {
        let name = endpoint.host ?? ""
        let authority = endpoint.port.map { "\(name):\($0)" } ?? name
        return pathStyle ? authority : "\(bucket).\(authority)"
    }

    /// Scheme and authority requests go to.
    var base: String { "\(endpoint.scheme ?? "https")://\(host)" }

    /// The raw (unencoded) request path of `key`, or of the bucket itself when nil.
    func path(_ key: String?) -> String {
        let object = key.map { "/\($0)" } ?? "/"
        return pathStyle ? "/\(bucket)\(key == nil ? "" : object)" : object
    }
}

/// Printed without the secret: a configuration that ends up in a log line must not carry the key with it.
extension S3Location: CustomStringConvertible {
    public var description: String {
        "s3://\(bucket) at \(endpoint.absoluteString) (region \(region), \(pathStyle ? "path" : "virtual-host") style, key \(accessKey))"
    }
}
