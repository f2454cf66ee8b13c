import Foundation
import Gateway
import GatewayAdmin
import GatewayKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Persistence
import Storage
import Testing
import Tokens

/// The admin console's user view (SPEC §7, §10): a user's quota figures, and the form that sets their limit with the
/// session's CSRF token.
@Suite("Admin console: a user's quota")
struct AdminUserQuotaTests: AdminConsoleSignIn {
    func signIn(_ client: any TestClientProtocol, gateway: TestGateway) async throws -> (cookie: String, csrf: String) {
        try await signIn(client, token: gateway.authenticator.mint(
            user: AuthenticatedUser(id: 900, username: "ops", isStaff: true), lifetime: 3600))
    }

    @Test func staffSeeAndSetAUsersQuotaThroughTheUserView() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_QUOTA_BYTES": "10000"])
        let quotas = gateway.quotas
        quotas.setUsed(userId: 42, bytes: 1500)
        let key = StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .jpeg)
        try await gateway.storage.put(key: key, bytes: Samples.jpeg)
        guard case .created(let media) = try await gateway.repository.create(NewMedia(
            userId: 42, username: "carol", format: .jpeg, fileSize: Int64(Samples.jpeg.count), originalFilename: "a.jpg",
            storageKey: key, isPublic: true))
        else { throw CancellationError() }
        try await gateway.test { client in
            let session = try await signIn(client, gateway: gateway)
            #expect(!session.csrf.isEmpty)
            let cookie: HTTPFields = [.cookie: session.cookie]
            var post = formType
            post[.cookie] = session.cookie

            // The media list and the media's page link the owner to their user view.
            for path in ["/admin/mediafiles/media/", "/admin/mediafiles/media/\(media.id)/"] {
                try await client.execute(uri: path, method: .get, headers: cookie) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(String(buffer: response.body).contains(#"href="/admin/users/42/""#), "\(path) links the owner")
                }
            }

            try await client.execute(uri: "/admin/users/42/", method: .get, headers: cookie) { response in
                #expect(response.status == .ok)
                let html = String(buffer: response.body)
                #expect(html.contains("User 42"))
                #expect(html.contains("(10000 bytes)") && html.contains(#"<span class="badge">default</span>"#), "the default limit")
                #expect(html.contains("(1500 bytes)") && html.contains("(8500 bytes)"), "used and available")
                #expect(html.contains(#"action="/admin/users/42/quota""#) && html.contains(session.csrf), "the form, with its CSRF token")
            }

            // Without the page's CSRF token, nothing changes.
            try await client.execute(uri: "/admin/users/42/quota", method: .post, headers: post,
                                     body: form([("limit_bytes", "5000")])) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try await quotas.usage(userId: 42, defaultLimit: 10000).customLimitBytes == nil)

            try await client.execute(uri: "/admin/users/42/quota", method: .post, headers: post,
                                     body: form([("limit_bytes", "5000"), ("csrf_token", session.csrf)])) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location]?.hasPrefix("/admin/users/42/?notice=") == true, "\(response.headers[.location] ?? "")")
            }
            let set = try await quotas.usage(userId: 42, defaultLimit: 10000)
            #expect(set.limitBytes == 5000 && set.customLimitBytes == 5000 && set.availableBytes == 3500)
            try await client.execute(uri: "/admin/users/42/", method: .get, headers: cookie) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("(5000 bytes)") && !html.contains(#"<span class="badge">default</span>"#))
                #expect(html.contains(#"value="5000""#), "the form shows the user's own limit")
            }

            // Anything but an integer ≥ 0 or empty: the page again, saying why, and nothing changes.
            for bad in ["-1", "12abc", "1.5", "99999999999999999999", "lots"] {
                try await client.execute(uri: "/admin/users/42/quota", method: .post, headers: post,
                                         body: form([("limit_bytes", bad), ("csrf_token", session.csrf)])) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    let html = String(buffer: response.body)
                    #expect(html.contains("The limit must be an integer of bytes"), "\(bad)")
                    #expect(html.contains(#"id="quota-form""#), "the user view again")
                }
            }
            #expect(try await quotas.usage(userId: 42, defaultLimit: 10000).customLimitBytes == 5000)

            // Empty: the default again.
            try await client.execute(uri: "/admin/users/42/quota", method: .post, headers: post,
                                     body: form([("limit_bytes", ""), ("csrf_token", session.csrf)])) { response in
                #expect(response.status == .seeOther)
            }
            let reset = try await quotas.usage(userId: 42, defaultLimit: 10000)
            #expect(reset.customLimitBytes == nil && reset.limitBytes == 10000)

            try await client.execute(uri: "/admin/users/0/", method: .get, headers: cookie) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func aNonStaffTokenCannotOpenTheUserView() async throws {
        let gateway = try TestGateway()
        let quotas = gateway.quotas
        try await gateway.test { client in
            try await client.execute(uri: "/admin/users/1/", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/admin/users/1/", method: .get, headers: gateway.auth()) { response in
                #expect(response.status == .forbidden)
            }
            var headers = gateway.staff()
            headers[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/admin/users/1/quota", method: .post, headers: gateway.auth(1),
                                     body: form([("limit_bytes", "0")])) { response in
                #expect(response.status == .forbidden)
            }
            // A staff bearer token (a script) needs no CSRF token.
            try await client.execute(uri: "/admin/users/1/quota", method: .post, headers: headers,
                                     body: form([("limit_bytes", "0")])) { response in
                #expect(response.status == .seeOther)
            }
        }
        #expect(try await quotas.usage(userId: 1, defaultLimit: 100).limitBytes == 0)
    }

    @Test func theFormsLimitReadsLikeTheSpecSays() {
        #expect(AdminConsoleController.quotaLimit("") == .success(nil))
        #expect(AdminConsoleController.quotaLimit("  ") == .success(nil))
        #expect(AdminConsoleController.quotaLimit("default") == .success(nil))
        #expect(AdminConsoleController.quotaLimit("0") == .success(0))
        #expect(AdminConsoleController.quotaLimit(" 53687091200 ") == .success(53_687_091_200))
        #expect(AdminConsoleController.quotaLimit("9223372036854775807") == .success(Int64.max))
        for bad in ["-1", "+5", "1e9", "1.5", "9223372036854775808", "５", "10 GiB"] {
            if case .success = AdminConsoleController.quotaLimit(bad) { Issue.record("\(bad) was accepted") }
        }
        if case .success = AdminConsoleController.quotaLimit(nil) { Issue.record("a missing field was accepted") }
    }
}
