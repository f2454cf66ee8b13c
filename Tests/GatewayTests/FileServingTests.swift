import Foundation
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
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
