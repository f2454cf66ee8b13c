import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import NIOCore
import Persistence
import Storage
import Testing

@Suite("File serving, CORS, schema, errors")
struct FileServingTests {
    func stored(_ gateway: TestGateway, isPublic: Bool) async throws -> (Media, [UInt8]) {
        let bytes = Samples.jpeg + (0..<1000).map { UInt8($0 % 251) }
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: bytes)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: 1, username: "u", format: .jpeg, fileSize: Int64(bytes.count), originalFilename: "a.jpg",
            storageKey: key, isPublic: isPublic))
        else { throw CancellationError() }
        return (media, bytes)
    }

    @Test func publicFileWithETagRangeAndConditional() async throws {
        let gateway = try TestGateway()
        let (media, bytes) = try await stored(gateway, isPublic: true)
        try await gateway.test { client in
            let etag = try await client.execute(uri: "/media/\(media.storageKey)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "image/jpeg")
                #expect(response.headers[.acceptRanges] == "bytes")
                #expect(Array(response.body.readableBytesView) == bytes)
                return try #require(response.headers[.eTag])
            }
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get, headers: [.range: "bytes=10-19"]) { response in
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes 10-19/\(bytes.count)")
                #expect(Array(response.body.readableBytesView) == Array(bytes[10..<20]))
            }
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get, headers: [.range: "bytes=-5"]) { response in
                #expect(response.status == .partialContent)
                #expect(Array(response.body.readableBytesView) == Array(bytes.suffix(5)))
            }
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get, headers: [.range: "bytes=99999-"]) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */\(bytes.count)")
            }
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
            }
        }
    }

    @Test func privateFileNeedsValidSignature() async throws {
        let gateway = try TestGateway()
        let (media, bytes) = try await stored(gateway, isPublic: false)
        try await gateway.test { client in
            let url = try await client.execute(uri: "/api/media/\(media.id)/", method: .get, headers: gateway.auth()) { response in
                try #require(try decodeJSON(response.body)["urls"]?["original"]?.string)
            }
            let path = String(url.dropFirst("http://media.test".count))
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == bytes)
            }
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get) { response in
                #expect(response.status == .notFound)
            }
            let forged = path.replacingOccurrences(of: "sig=", with: "sig=00")
            try await client.execute(uri: forged, method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/media/\(media.storageKey)?exp=1&sig=abcd", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    /// `MEDIA_FILES_REDIRECT=true` (SPEC §9): a private file's valid signed URL answers 302 to the store's presigned
    /// URL, a public file 302 to the CDN when one is set, and everything a streamed answer refuses is still refused.
    @Test func redirectsToPresignedURLsAndTheCDN() async throws {
        let gateway = try TestGateway(
            environment: ["MEDIA_FILES_REDIRECT": "true", "MEDIA_CDN_BASE_URL": "https://cdn.example/media-bucket/",
                          "MEDIA_SIGNED_URL_TTL": "900"],
            storage: MemoryStorage(presignedBase: "https://s3.example/bucket"))
        let (privateMedia, _) = try await stored(gateway, isPublic: false)
        let (publicMedia, _) = try await stored(gateway, isPublic: true)
        try await gateway.test { client in
            let url = try await client.execute(uri: "/api/media/\(privateMedia.id)/", method: .get, headers: gateway.auth()) { response in
                try #require(try decodeJSON(response.body)["urls"]?["original"]?.string)
            }
            let path = String(url.dropFirst("http://media.test".count))
            let exp = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "exp" }?.value.flatMap { Int($0) })
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .found)
                // The presigned URL ends when the signed URL it was traded for does, never later.
                let location = try #require(response.headers[.location])
                #expect(location.hasPrefix("https://s3.example/bucket/\(privateMedia.storageKey)?expires="))
                let expires = try #require(Int(location.split(separator: "=").last ?? ""))
                let left = exp - Int(Date().timeIntervalSince1970)
                #expect(expires >= 895 && expires <= left + 1 && expires >= left - 5, "expires \(expires), signed URL has \(left) s")
                #expect(response.headers[.cacheControl] == "private, no-store")
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/media/\(privateMedia.storageKey)", method: .get) { response in
                #expect(response.status == .notFound, "no signature: no redirect either")
            }
            try await client.execute(uri: "/media/\(publicMedia.storageKey)", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "https://cdn.example/media-bucket/\(publicMedia.storageKey)")
            }
            try await client.execute(uri: "/media/media/\(UUID().uuidString.lowercased())/original.jpg", method: .get) { response in
                #expect(response.status == .notFound, "an unknown key is not redirected")
            }
        }
        // Without a CDN, public files go to a presigned URL too; a store without presigned URLs streams.
        let noCDN = try TestGateway(environment: ["MEDIA_FILES_REDIRECT": "true"], storage: MemoryStorage(presignedBase: "https://s3.example/b"))
        let (media, _) = try await stored(noCDN, isPublic: true)
        try await noCDN.test { client in
            try await client.execute(uri: "/media/\(media.storageKey)", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "https://s3.example/b/\(media.storageKey)?expires=3600")
                #expect(response.headers[.cacheControl] == "public, max-age=300")
            }
        }
        let local = try TestGateway(environment: ["MEDIA_FILES_REDIRECT": "true"])
        let (streamed, bytes) = try await stored(local, isPublic: true)
        try await local.test { client in
            try await client.execute(uri: "/media/\(streamed.storageKey)", method: .get) { response in
                #expect(response.status == .ok)
                #expect(Array(response.body.readableBytesView) == bytes)
            }
        }
    }

    @Test(arguments: ["/media/../../etc/passwd", "/media/media/%2e%2e/x", "/media/.tmp/x", "/media//etc/passwd"])
    func traversalIsNotFound(path: String) async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func corsPreflightAndHeaders() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_CORS_ORIGINS": "https://app.example"])
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/upload/", method: .options, headers: [
                .origin: "https://app.example", .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "authorization, content-type",
            ]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            try await client.execute(uri: "/api/media/", method: .get, headers: [.origin: "https://app.example"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example")
            }
            try await client.execute(uri: "/api/media/", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func schemaAndUnknownRoutes() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            try await client.execute(uri: "/api/schema/", method: .get) { response in
                #expect(response.status == .ok)
                let doc = try decodeJSON(response.body)
                #expect(doc["openapi"] == "3.1.0")
                #expect(doc["paths"]?["/api/media/upload/"] != nil)
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try decodeJSON(response.body)
                #expect(body["code"] == "not_found")
                #expect(body["detail"]?.string != nil)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

/// Storage whose files turn out shorter than `info` said (replaced or damaged between the two calls).
struct ShrinkingStorage: BlobStorage {
    let base = MemoryStorage()
    func makeWriter(key: String) async throws -> any BlobWriter { try await base.makeWriter(key: key) }
    func info(key: String) async throws -> BlobInfo? {
        try await base.info(key: key).map { BlobInfo(size: $0.size + 100_000, modified: $0.modified) }
    }
    func read(key: String, range: Range<Int64>?, chunkSize: Int, _ body: (ByteBuffer) async throws -> Void) async throws {
        try await base.read(key: key, range: range, chunkSize: chunkSize, body)
    }
    func delete(key: String) async throws { try await base.delete(key: key) }
    func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
    func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
    func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws {
        try await base.listPages(prefix: prefix, pageSize: pageSize, body)
    }
    func presignedURL(key: String, expires: Int) -> String? { nil }
    func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int {
        try await base.sweepAbandonedWrites(olderThan: cutoff, dryRun: dryRun)
    }
    func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T {
        try await base.withLocalFile(key: key, body)
    }
    func store(key: String, contentsOf path: String) async throws { try await base.store(key: key, contentsOf: path) }
}

@Suite("File serving when the file fails mid-read")
struct FileReadFailureTests {
    @Test func aFileShorterThanItsContentLengthFailsTheResponseInsteadOfEndingItEarly() async throws {
        let gateway = try TestGateway()
        let storage = ShrinkingStorage()
        let original = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        // A rendition: an original is first read for its location metadata, which would fail before any byte is sent.
        let key = StorageKeys.rendition(original: original, generation: 1, name: "large", ext: "jpg")
        try await storage.put(key: key, bytes: Samples.jpeg)
        guard case .created = try await gateway.repository.create(NewMedia(
            userId: 1, username: "u", format: .jpeg, fileSize: Int64(Samples.jpeg.count), originalFilename: "a.jpg",
            storageKey: original, isPublic: true))
        else { throw CancellationError() }
        let router = buildRouter(
            configuration: gateway.configuration,
            dependencies: GatewayDependencies(repository: gateway.repository, storage: storage))
        // Over a real socket: the server promised more bytes than it has, so it must close the connection at once,
        // never leave a body quietly shorter than its Content-Length on an open connection (where a client waits
        // for the rest, or worse, reads the next response as the missing bytes).
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let answer = try RawHTTP.get(path: "/media/\(key)", port: port, timeout: 5)
            #expect(answer.head.hasPrefix("HTTP/1.1 200"))
            #expect(answer.head.lowercased().contains("content-length: \(Samples.jpeg.count + 100_000)"))
            #expect(answer.closedByServer, "the connection was left open after a short body")
            #expect(answer.bodyBytes < Samples.jpeg.count + 100_000)
        }
    }
}

/// A bare HTTP/1.1 GET over a socket, to see what a client sees on the wire: the head, how many body bytes came, and
/// whether the server closed the connection (rather than the read timing out).
enum RawHTTP {
    struct Answer {
        var head: String
        var bodyBytes: Int
        var closedByServer: Bool
    }

    static func get(path: String, port: Int, timeout seconds: Int) throws -> Answer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError() }
        defer { close(fd) }
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw RawHTTPError() }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw RawHTTPError() }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var closed = false
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { received += buffer[0..<n]; continue }
            closed = n == 0  // 0: the server closed; -1: the timeout ran out
            break
        }
        let separator = Array("\r\n\r\n".utf8)
        let headEnd = (0..<max(0, received.count - 3)).first { Array(received[$0..<$0 + 4]) == separator } ?? received.count
        return Answer(
            head: String(decoding: received[0..<headEnd], as: UTF8.self),
            bodyBytes: max(0, received.count - headEnd - 4), closedByServer: closed)
    }
}

struct RawHTTPError: Error {}
