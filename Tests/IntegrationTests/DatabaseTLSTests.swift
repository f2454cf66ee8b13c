import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing
import TestSupport

/// `MEDIA_DATABASE_URL`'s `sslmode` against the test PostgreSQL, which `make test` starts with TLS on and a private CA.
@Suite("PostgreSQL over TLS (sslmode)", .serialized,
       .enabled(if: TestServers.available && TestServers.env["MEDIA_TEST_PG_CA"] != nil, "needs make test's servers"))
struct DatabaseTLSTests {
    var plainURL: String { TestServers.databaseURL ?? "" }
    var caPath: String { TestServers.env["MEDIA_TEST_PG_CA"] ?? "" }

    /// Whether this session is encrypted, as the server sees it.
    func sessionIsTLS(_ url: String) async throws -> Bool {
        try await TestServers.withDatabase(maxConnections: 1, url: url) { client, _ in
            var ssl = false
            for try await value in try await client.query(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").decode(Bool.self) { ssl = value }
            return ssl
        }
    }

    @Test func requireAndVerifyFullConnectOverTLSAndDisableDoesNot() async throws {
        #expect(try await sessionIsTLS(plainURL) == false, "no sslmode: plain TCP, as before")
        #expect(try await sessionIsTLS(plainURL + "?sslmode=disable") == false)
        #expect(try await sessionIsTLS(plainURL + "?sslmode=require") == true)
        #expect(try await sessionIsTLS(plainURL + "?sslmode=verify-ca&sslrootcert=\(caPath)") == true)
        #expect(try await sessionIsTLS(plainURL + "?sslmode=verify-full&sslrootcert=\(caPath)") == true)
    }

    @Test func verifyFullRefusesAServerItsRootsDoNotVouchFor() async throws {
        // The system's roots (no sslrootcert) do not know the test instance's private CA.
        let url = plainURL + "?sslmode=verify-full"
        let outcome = await withTaskGroup(of: String.self) { group in
            group.addTask {
                do {
                    return try await sessionIsTLS(url) ? "connected over TLS" : "connected in plain"
                } catch {
                    return "refused"
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(8))
                return "no connection within 8 s"
            }
            defer { group.cancelAll() }
            return await group.next() ?? ""
        }
        #expect(outcome == "refused" || outcome == "no connection within 8 s", "\(outcome)")
    }

    @Test func badSSLModeOrUnknownParameterIsAClearConfigurationError() {
        #expect(throws: DatabaseURLError.self) { try DatabaseConfiguration(url: plainURL + "?sslmode=maybe") }
        #expect(throws: DatabaseURLError.self) { try DatabaseConfiguration(url: plainURL + "?ssl=true") }
        #expect(throws: DatabaseURLError.self) { try DatabaseConfiguration(url: "mysql://x@y/z") }
        #expect((try? DatabaseConfiguration(url: plainURL + "?sslmode=allow"))?.tls == .prefer)
    }
}
