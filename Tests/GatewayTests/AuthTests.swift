import Crypto
import Foundation
import Hummingbird
import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import HummingbirdTesting
import Testing
import Tokens

@Suite("Bearer JWT authentication")
struct AuthTests {
    let gateway = try! TestGateway()

    /// A token signed like simplejwt does, with claims chosen by the test.
    func sign(_ claims: String, header: String = #"{"alg":"HS256","typ":"JWT"}"#, secret: String? = nil) -> String {
        func b64(_ d: Data) -> String {
            d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let input = b64(Data(header.utf8)) + "." + b64(Data(claims.utf8))
        let key = SymmetricKey(data: Data((secret ?? gateway.configuration.jwtSecret).utf8))
        return input + "." + b64(Data(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key)))
    }

    var future: Int { Int(Date().timeIntervalSince1970) + 3600 }

    @Test func missingHeaderIsNotAuthenticated() async throws {
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/", method: .get) { response in
                #expect(response.status == .unauthorized)
                let body = try decodeJSON(response.body)
                #expect(body["code"] == "not_authenticated")
                #expect(body["detail"]?.string?.isEmpty == false)
            }
        }
    }

    @Test(arguments: [
        "Bearer not.a.token",
        "Bearer abc",
        "Token xyz",
        "Bearer ",
    ])
    func malformedTokensAreInvalid(header: String) async throws {
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/", method: .get, headers: [.authorization: header]) { response in
                #expect(response.status == .unauthorized)
                let json45 = try decodeJSON(response.body)
                #expect(json45["code"] == "token_invalid")
            }
        }
    }

    @Test func rejectsBadSignatureExpiryRefreshAndNone() async throws {
        let tokens = [
            sign(#"{"user_id":1,"exp":\#(future),"token_type":"access"}"#, secret: "another-secret-another-secret-xx"),
            sign(#"{"user_id":1,"exp":\#(Int(Date().timeIntervalSince1970) - 10),"token_type":"access"}"#),
            sign(#"{"user_id":1,"exp":\#(future),"token_type":"refresh"}"#),
            sign(#"{"user_id":1,"token_type":"access"}"#),
            sign(#"{"user_id":1,"exp":\#(future)}"#, header: #"{"alg":"none"}"#),
            sign(#"{"exp":\#(future)}"#),
        ]
        try await gateway.test { client in
            for token in tokens {
                try await client.execute(uri: "/api/media/", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                    #expect(response.status == .unauthorized, "token \(token)")
                    let json63 = try decodeJSON(response.body)
                    #expect(json63["code"] == "token_invalid")
                }
            }
        }
    }

    @Test func acceptsSimpleJWTAccessTokenAndNumericSub() async throws {
        let simplejwt = sign(#"{"token_type":"access","exp":\#(future),"iat":1,"jti":"abc","user_id":42}"#)
        let oidc = sign(#"{"sub":"43","preferred_username":"carol","exp":\#(future)}"#)
        try await gateway.test { client in
            try await client.execute(uri: "/api/media/stats/", method: .get, headers: [.authorization: "Bearer \(simplejwt)"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/media/stats/", method: .get, headers: [.authorization: "Bearer \(oidc)"]) { response in
                #expect(response.status == .ok)
            }
            // Extra blanks around the token are tolerated, as before.
            try await client.execute(uri: "/api/media/stats/", method: .get,
                                     headers: [.authorization: "bearer  \t\(simplejwt) \t"]) { response in
                #expect(response.status == .ok)
            }
        }
        let user = try JWTAuthenticator(secret: gateway.configuration.jwtSecret).authenticate(token: oidc)
        #expect(user == AuthenticatedUser(id: 43, username: "carol"))
        let staff = try JWTAuthenticator(secret: gateway.configuration.jwtSecret)
            .authenticate(token: sign(#"{"user_id":7,"username":"ops","is_staff":true,"exp":\#(future)}"#))
        #expect(staff == AuthenticatedUser(id: 7, username: "ops", isStaff: true))
    }

    @Test func rememberedTokenStillExpires() throws {
        let auth = JWTAuthenticator(secret: gateway.configuration.jwtSecret)
        let token = auth.mint(user: AuthenticatedUser(id: 5, username: "e"), lifetime: 60)
        #expect(try auth.authenticate(token: token) == AuthenticatedUser(id: 5, username: "e"))
        #expect(try auth.authenticate(token: token) == AuthenticatedUser(id: 5, username: "e"))
        #expect(throws: TokenError("token is expired")) { try auth.authenticate(token: token, now: Date().addingTimeInterval(120)) }
        #expect(throws: TokenError("bad signature")) { try auth.authenticate(token: token + "x") }
    }
}
