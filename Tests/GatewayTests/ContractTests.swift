import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import Testing

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

/// What the black-box suite written from SPEC found, and its cousins: every body, header and method the API
/// parses is either taken as SPEC says or refused with a 4xx and a code, never silently half-understood.
@Suite("Contract: bodies, file names, methods")
struct ContractTests {
    func create(_ gateway: TestGateway, isPublic: Bool = true) async throws -> Media {
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: 1, username: "user1", format: .jpeg, fileSize: Int64(Samples.jpeg.count),
            originalFilename: "x.jpg", storageKey: key, isPublic: isPublic))
        else { throw CancellationError() }
        return media
    }

    @Test(arguments: [
        ("{}", "invalid_request"),
        ("[]", "invalid_request"),
        (#"[{"is_public": false}]"#, "invalid_request"),
        ("true", "invalid_request"),
        ("null", "invalid_request"),
        (#""false""#, "invalid_request"),
        (#"{"is_public": null}"#, "invalid_request"),
        (#"{"is_public": "false"}"#, "invalid_request"),
        (#"{"is_public": 0}"#, "invalid_request"),
        (#"{"is_public": [false]}"#, "invalid_request"),
        (#"{"public": false}"#, "invalid_request"),
        ("", "invalid_json"),
        ("is_public=false", "invalid_json"),
        (#"{"is_public": false"#, "invalid_json"),
        (#"{"is_public": false} x"#, "invalid_json"),
    ])
    func patchRefusesAnyBodyButAnObjectWithABooleanIsPublic(body: String, code: String) async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        try await gateway.test { client in
            var headers = gateway.auth()
            headers[.contentType] = "application/json"
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: headers,
                                     body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest, "\(body)")
                let json = try decodeJSON(response.body)
                #expect(json["code"]?.string == code, "\(body)")
                #expect(json["detail"]?.string?.isEmpty == false)
            }
        }
        #expect(try await gateway.repository.find(id: media.id)?.isPublic == true, "nothing changed")
    }

    @Test func patchTakesExtraMembersAndJSONWithoutContentTypeButRefusesOtherTypesAndHugeBodies() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: gateway.auth(),
                                     body: ByteBuffer(string: #"{"is_public": false, "status": "ready"}"#)) { response in
                #expect(response.status == .ok)
                let json = try decodeJSON(response.body)
                #expect(json["is_public"] == false)
                #expect(json["status"] == "processing", "read-only members are ignored, as DRF does")
            }
            var form = gateway.auth()
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: form,
                                     body: ByteBuffer(string: "is_public=true")) { response in
                #expect(response.status == .unsupportedMediaType)
                let body = try decodeJSON(response.body)
                #expect(body["code"] == "unsupported_media_type")
            }
            var json = gateway.auth()
            json[.contentType] = "application/json; charset=utf-8"
            let huge = #"{"is_public": true, "padding": ""# + String(repeating: "x", count: 70_000) + #""}"#
            try await client.execute(uri: "/api/media/\(media.id)/", method: .patch, headers: json,
                                     body: ByteBuffer(string: huge)) { response in
                #expect(response.status == .contentTooLarge)
                let body = try decodeJSON(response.body)
                #expect(body["code"] == "request_too_large")
            }
        }
        #expect(try await gateway.repository.find(id: media.id)?.isPublic == false)
    }

    @Test(arguments: [300, 1000, 5000])
    func longFileNameKeepsItsExtensionAndIsAccepted(length: Int) async throws {
        let gateway = try TestGateway()
        let name = String(repeating: "a", count: length - 4) + ".jpg"
        try await gateway.test { client in
            var headers = MultipartBody.headers
            headers.append(contentsOf: gateway.auth())
            try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers,
                                     body: MultipartBody.file(filename: name, bytes: Samples.jpeg)) { response in
                #expect(response.status == .created)
                let json = try decodeJSON(response.body)
                let stored = try #require(json["original_filename"]?.string)
                #expect(stored.count == 255)
                #expect(stored.hasSuffix("aaa.jpg"))
                #expect(json["mime_type"] == "image/jpeg")
            }
        }
    }

    @Test func longFileNameWithAMismatchedOrUnsupportedExtensionIsStillJudgedByIt() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            var headers = MultipartBody.headers
            headers.append(contentsOf: gateway.auth())
            let stem = String(repeating: "b", count: 400)
            for (name, status, code) in [
                (stem + ".mp3", HTTPResponse.Status.badRequest, "type_mismatch"),
                (stem + ".pdf", .unsupportedMediaType, "unsupported_media_type"),
            ] {
                try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers,
                                         body: MultipartBody.file(filename: name, bytes: Samples.jpeg)) { response in
                    #expect(response.status == status)
                    let body = try decodeJSON(response.body)
                #expect(body["code"]?.string == code)
                }
            }
        }
        #expect(gateway.storage.keys.isEmpty)
    }

    @Test func cleanFilenameShortensTheStemOnly() {
        #expect(UploadHandler.cleanFilename("x/y/photo.jpg") == "photo.jpg")
        #expect(UploadHandler.cleanFilename(String(repeating: "é", count: 300) + ".jpeg").hasSuffix("é.jpeg"))
        #expect(UploadHandler.cleanFilename(String(repeating: "é", count: 300) + ".jpeg").count == 255)
        // A "suffix" too long to be an extension is cut like the rest of the name.
        #expect(UploadHandler.cleanFilename(String(repeating: "c", count: 100) + "." + String(repeating: "d", count: 300)).count == 255)
    }

    @Test(arguments: [
        ("/api/media/", HTTPRequest.Method.delete, "GET, HEAD, OPTIONS"),
        ("/api/media/", .post, "GET, HEAD, OPTIONS"),
        ("/api/media/upload/", .get, "POST, OPTIONS"),
        ("/api/media/stats/", .patch, "GET, HEAD, OPTIONS"),
        ("/api/media/1/", .put, "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/api/media/1/", .post, "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/api/media/1/", HTTPRequest.Method("QUERY")!, "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/api/media/1/", .trace, "GET, HEAD, PATCH, DELETE, OPTIONS"),
        ("/api/media/1/reprocess/", .get, "POST, OPTIONS"),
        ("/api/schema/", .post, "GET, HEAD, OPTIONS"),
        ("/healthz", .delete, "GET, HEAD, OPTIONS"),
        ("/media/media/x/original.jpg", .put, "GET, HEAD, OPTIONS"),
    ])
    func anUndeclaredMethodIs405WithAllow(uri: String, method: HTTPRequest.Method, allow: String) async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            try await client.execute(uri: uri, method: method, headers: gateway.auth()) { response in
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow)
                let body = try decodeJSON(response.body)
                #expect(body["code"] == "method_not_allowed")
            }
        }
    }

    @Test func optionsWithoutAPreflightSaysWhichMethodsAPathTakes() async throws {
        let gateway = try TestGateway()
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/1/", method: .options, headers: gateway.auth()) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.allow] == "GET, HEAD, PATCH, DELETE, OPTIONS")
            }
            // A browser's preflight still gets its CORS answer, without a token.
            try await client.execute(uri: "/api/media/1/", method: .options, headers: [
                .origin: "https://app.example", .accessControlRequestMethod: "PATCH",
            ]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
            }
        }
    }

    @Test func everyMediaRouteNeedsAToken() async throws {
        let gateway = try TestGateway()
        let media = try await create(gateway)
        try await gateway.test { client in
            let routes: [(String, HTTPRequest.Method)] = [
                ("/api/media/", .get), ("/api/media/upload/", .post), ("/api/media/stats/", .get),
                ("/api/media/\(media.id)/", .get), ("/api/media/\(media.id)/", .patch),
                ("/api/media/\(media.id)/", .delete), ("/api/media/\(media.id)/reprocess/", .post),
            ]
            for (uri, method) in routes {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                    let body = try decodeJSON(response.body)
                #expect(body["code"] == "not_authenticated")
                }
                try await client.execute(uri: uri, method: method, headers: [.authorization: "Bearer x.y.z"]) { response in
                    #expect(response.status == .unauthorized, "\(method) \(uri)")
                    let body = try decodeJSON(response.body)
                #expect(body["code"] == "token_invalid")
                }
            }
        }
        #expect(try await gateway.repository.find(id: media.id) != nil)
    }
}
