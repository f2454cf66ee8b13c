import Foundation
import Gateway
import GatewayFairUse
import GatewayKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MediaDomain
import Persistence
import Testing
import Tokens

/// SPEC §10 on the in-memory stores: quotas refused while sending, the rate limit's answers and headers, the staff
/// route's validation, the stream cap. The PostgreSQL side (one budget across Gateways, the ledger) is in
/// IntegrationTests/FairUseIntegrationTests.
@Suite("Fair use: quotas, upload rate, stream cap (SPEC §10)")
struct FairUseTests {
    func upload(_ gateway: TestGateway, _ client: some TestClientProtocol, bytes: [UInt8] = Samples.jpeg, user: Int64 = 1,
                headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = MultipartBody.headers
        headers.append(contentsOf: gateway.auth(user))
        headers.append(contentsOf: extra)
        return try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers,
                                        body: MultipartBody.file(filename: "a.jpg", bytes: bytes))
    }

    func code(_ response: TestResponse) throws -> String? { try decodeJSON(response.body)["code"]?.string }

    @Test func anUploadThatWouldCrossTheQuotaIs413WithNothingStoredAndTheNextThatFitsPasses() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_QUOTA_BYTES": "1000"])
        gateway.quotas.setUsed(userId: 1, bytes: 900)
        try await gateway.test { client in
            let refused = try await upload(gateway, client, bytes: Samples.jpeg)   // body > 100 bytes
            #expect(refused.status == .contentTooLarge)
            #expect(try code(refused) == "quota_exceeded")
            #expect(gateway.storage.keys.isEmpty, "nothing stored")
            #expect(gateway.repository.outboxEntries.isEmpty)
            // The refusal gave its reservation back: the figures are as before.
            let quota = try decodeJSON(try await client.execute(uri: "/api/media/quota/", method: .get, headers: gateway.auth(1)).body)
            #expect(quota["limit_bytes"]?.int == 1000)
            #expect(quota["used_bytes"]?.int == 900)
            #expect(quota["reserved_bytes"]?.int == 0)
            #expect(quota["available_bytes"]?.int == 100)

            gateway.quotas.setUsed(userId: 1, bytes: 0)   // the user deleted something
            #expect(try await upload(gateway, client).status == .created)
            // Another user's quota is their own.
            #expect(try await upload(gateway, client, user: 2).status == .created)
        }
    }

    @Test func aReservationNear2To63IsRefusedWithoutOverflow() async throws {
        // What a Content-Length of 2^63 or more becomes (the header over HTTP: FairUseEndToEndTests).
        let quotas = MemoryQuotaStore()
        quotas.setUsed(userId: 1, bytes: 5)
        let allowance = UploadAllowance(quotas: quotas, rates: MemoryUploadRateStore(), settings: FairUseSettings())
        let user = AuthenticatedUser(id: 1, username: "u")
        for bytes in [Int64.max, Int64.max - 4, Int64(1) << 62] {
            do {
                _ = try await allowance.reserve(user, bytes: bytes, logger: Logger(label: "test"))
                Issue.record("\(bytes) bytes were reserved")
            } catch let error as APIError {
                #expect(error.status == .contentTooLarge && error.code == "quota_exceeded", "\(bytes)")
            }
        }
        #expect(try await quotas.usage(userId: 1, defaultLimit: 10).reservedBytes == 0)
        #expect(QuotaUsage(limitBytes: 10, customLimitBytes: nil, usedBytes: .max, reservedBytes: .max).availableBytes == 0)
    }

    @Test func theRateLimitAnswers429WithRetryAfterAndHeadersOnEveryUploadAnswer() async throws {
        // An hour's rate: the budget cannot grow by one between these requests however slow the machine is.
        let gateway = try TestGateway(environment: ["MEDIA_UPLOAD_RATE": "60/h", "MEDIA_UPLOAD_BURST": "3"])
        try await gateway.test { client in
            var remaining: [String] = []
            for n in 0..<3 {
                // Three different files: identical ones would be duplicates sharing one (SPEC §13), with no job.
                let response = try await upload(gateway, client, bytes: Samples.jpeg + [UInt8(n)])
                #expect(response.status == .created)
                #expect(response.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
                remaining.append(response.headers[HTTPField.Name("RateLimit-Remaining")!] ?? "?")
                #expect(Int(response.headers[HTTPField.Name("RateLimit-Reset")!] ?? "") ?? 0 >= 1)
            }
            #expect(remaining == ["2", "1", "0"])
            let limited = try await upload(gateway, client)
            #expect(limited.status == .tooManyRequests)
            #expect(try code(limited) == "rate_limited")
            let retryAfter = try #require(Int(limited.headers[.retryAfter] ?? ""))
            #expect((1...60).contains(retryAfter), "one upload's worth comes back within the minute at 60/h: \(retryAfter)")
            #expect(limited.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(limited.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
            #expect(gateway.repository.outboxEntries.count == 3, "the limited upload stored nothing")

            // An error answer within the budget carries the headers too (another user, a bad form).
            var headers = MultipartBody.headers
            headers.append(contentsOf: gateway.auth(2))
            let bad = try await client.execute(uri: "/api/media/upload/", method: .post, headers: headers,
                                               body: ByteBuffer(string: "not multipart"))
            #expect(bad.status == .badRequest)
            #expect(bad.headers[HTTPField.Name("RateLimit-Remaining")!] == "2")

            // Staff are not limited.
            let staff = gateway.authenticator.mint(user: .init(id: 1, username: "user1", isStaff: true))
            var staffHeaders = MultipartBody.headers
            staffHeaders[.authorization] = "Bearer \(staff)"
            let staffUpload = try await client.execute(uri: "/api/media/upload/", method: .post, headers: staffHeaders,
                                                       body: MultipartBody.file(filename: "a.jpg", bytes: Samples.jpeg))
            #expect(staffUpload.status == .created)
            #expect(staffUpload.headers[HTTPField.Name("RateLimit-Limit")!] == nil)
        }
    }

    @Test func anIdempotentReplayIsNotChargedAgain() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_UPLOAD_RATE": "60/h", "MEDIA_UPLOAD_BURST": "1"])
        try await gateway.test { client in
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "album-1"]
            let first = try await upload(gateway, client, headers: key)
            #expect(first.status == .created)
            for _ in 0..<3 {
                let replay = try await upload(gateway, client, headers: key)
                #expect(replay.status == .ok, "a replay answers the first media, uncharged")
            }
            #expect(try await upload(gateway, client).status == .tooManyRequests, "a new upload is over the burst of 1")
        }
    }

    @Test func aTusCreationReservesItsLengthAndTerminationGivesItBack() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_QUOTA_BYTES": "10000"])
        try await gateway.test { client in
            func create(_ length: Int) async throws -> TestResponse {
                var headers = gateway.auth()
                headers[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
                headers[HTTPField.Name("Upload-Length")!] = String(length)
                headers[HTTPField.Name("Upload-Metadata")!] = "filename \(Data("a.jpg".utf8).base64EncodedString())"
                return try await client.execute(uri: "/api/uploads/", method: .post, headers: headers)
            }
            let first = try await create(6000)
            #expect(first.status == .created)
            #expect(try await gateway.quotas.usage(userId: 1, defaultLimit: 10000).reservedBytes == 6000)
            let second = try await create(6000)
            #expect(second.status == .contentTooLarge)
            #expect(try code(second) == "quota_exceeded")
            #expect(second.headers[HTTPField.Name("RateLimit-Limit")!] == "100", "a refused creation says the rate too")

            var headers = gateway.auth()
            headers[HTTPField.Name("Tus-Resumable")!] = "1.0.0"
            let path = (first.headers[.location] ?? "").replacingOccurrences(of: "http://media.test", with: "")
            #expect(try await client.execute(uri: path, method: .delete, headers: headers).status == .noContent)
            #expect(try await gateway.quotas.usage(userId: 1, defaultLimit: 10000).reservedBytes == 0)
            #expect(try await create(6000).status == .created)
        }
    }

    @Test func staffSetAUsersLimitAndAnythingButANonNegativeIntegerOrNullIs400() async throws {
        let gateway = try TestGateway(environment: ["MEDIA_QUOTA_BYTES": "5000"])
        try await gateway.test { client in
            func put(_ body: String, user: String = "42", headers: HTTPFields? = nil) async throws -> TestResponse {
                try await client.execute(uri: "/api/admin/users/\(user)/quota/", method: .put, headers: headers ?? gateway.staff(),
                                         body: ByteBuffer(string: body))
            }
            let set = try await put(#"{"limit_bytes": 52428800}"#)
            #expect(set.status == .ok)
            let figures = try decodeJSON(set.body)
            #expect(figures["user_id"]?.int == 42 && figures["limit_bytes"]?.int == 52_428_800)
            #expect(figures["is_default"] == false)
            let own = try decodeJSON(try await client.execute(uri: "/api/media/quota/", method: .get, headers: gateway.auth(42)).body)
            #expect(own["limit_bytes"]?.int == 52_428_800)

            for bad in [#"{"limit_bytes": -1}"#, #"{"limit_bytes": "50MB"}"#, #"{"limit_bytes": 1.5}"#, #"{}"#,
                        #"{"limit_bytes": 1e30}"#, #"{"limit_bytes": 99999999999999999999}"#, #"{"limit_bytes": true}"#]
            {
                let response = try await put(bad)
                #expect(response.status == .badRequest, "\(bad)")
                #expect(try code(response) == "invalid_limit", "\(bad)")
            }
            #expect(try await put(#"{"limit_bytes": 1}"#, user: "abc").status == .notFound)
            #expect(try await put(#"{"limit_bytes": 1}"#, headers: gateway.auth(42)).status == .forbidden)

            let back = try decodeJSON(try await put(#"{"limit_bytes": null}"#).body)
            #expect(back["limit_bytes"]?.int == 5000 && back["is_default"] == true)
        }
    }

    @Test func aDatabaseThatCannotAnswerIs503UnavailableNeverAllowed() async throws {
        let gateway = try TestGateway()
        var dependencies = gateway.dependencies()
        dependencies.uploadRates = UnreachableRateStore()
        let app = Application(router: buildRouter(configuration: gateway.configuration, dependencies: dependencies))
        try await app.test(.router) { client in
            let response = try await upload(gateway, client)
            #expect(response.status == .serviceUnavailable)
            #expect(try code(response) == "unavailable")
            #expect(gateway.storage.keys.isEmpty)
        }
    }

    @Test func theEleventhStreamOfAUserIsRefusedUntilOneCloses() async throws {
        let registry = MemoryLiveStreamRegistry()
        let streams = StreamAllowance(registry: registry, settings: FairUseSettings())
        let logger = Logger(label: "test")
        var open: [UUID] = []
        for _ in 0..<10 { open.append(try await streams.open(userId: 5, logger: logger)) }
        await #expect(throws: APIError.self) { try await streams.open(userId: 5, logger: logger) }
        do {
            _ = try await streams.open(userId: 5, logger: logger)
            Issue.record("the 11th stream was opened")
        } catch let error as APIError {
            #expect(error.status == .tooManyRequests && error.code == "too_many_streams")
        }
        _ = try await streams.open(userId: 6, logger: logger)   // another user's are their own
        await streams.close(open[0], logger: logger)
        _ = try await streams.open(userId: 5, logger: logger)
        #expect(registry.count(userId: 5) == 10)
    }

    @Test func theRateDecisionFollowsTheGCRA() throws {
        let rate = UploadRate(count: 60, perSeconds: 60)   // one a second
        // The first upload of a fresh user: the budget is one interval ahead.
        var d = RateDecision.gcra(takenMicros: 1_000_000, previousMicros: nil, rate: rate, burst: 20)
        #expect(d.allowed && d.remaining == 19 && d.resetSeconds == 1)
        // The 20th at once: nothing left, whole again in 20 s.
        d = RateDecision.gcra(takenMicros: 20_000_000, previousMicros: nil, rate: rate, burst: 20)
        #expect(d.allowed && d.remaining == 0 && d.resetSeconds == 20)
        // The 21st: refused; one comes back in a second (rounded up, at least 1).
        d = RateDecision.gcra(takenMicros: nil, previousMicros: 20_000_000, rate: rate, burst: 20)
        #expect(!d.allowed && d.retryAfterSeconds == 1 && d.remaining == 0)
        d = RateDecision.gcra(takenMicros: nil, previousMicros: 20_000_001, rate: rate, burst: 20)
        #expect(d.retryAfterSeconds == 2, "rounded up")
        #expect(try UploadRate.parse("300/m") == UploadRate(count: 300, perSeconds: 60))
        #expect(try UploadRate.parse("off") == nil)
        for bad in ["300", "0/m", "5/d", "-1/s", "x/m", ""] {
            #expect(throws: UploadRateSyntaxError.self, "\(bad)") { try UploadRate.parse(bad) }
        }
    }

    @Test func theMemoryBudgetRefillsWithTime() async throws {
        let clock = Captured(Date(timeIntervalSince1970: 1_000_000))
        let store = MemoryUploadRateStore(now: { clock.value })
        let rate = UploadRate(count: 60, perSeconds: 60)
        for _ in 0..<20 { #expect(try await store.take(userId: 1, rate: rate, burst: 20).allowed) }
        let refused = try await store.take(userId: 1, rate: rate, burst: 20)
        #expect(!refused.allowed && refused.retryAfterSeconds == 1)
        clock.value = clock.value.addingTimeInterval(1)
        #expect(try await store.take(userId: 1, rate: rate, burst: 20).allowed)
        #expect(try await !store.take(userId: 1, rate: rate, burst: 20).allowed)
    }
}

/// A rate store whose database is down.
struct UnreachableRateStore: UploadRateStore {
    func take(userId: Int64, rate: UploadRate, burst: Int) async throws -> RateDecision {
        throw DatabaseUnavailable(description: "test: the database is down")
    }
}
