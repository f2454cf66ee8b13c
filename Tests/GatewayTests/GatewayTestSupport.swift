import Foundation
import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks
import Hummingbird
import HummingbirdTesting
import MediaDomain
import Messaging
import Persistence
import ServiceCore
import ServiceKit
import Storage
import Synchronization
import Tokens

/// A Gateway over in-memory repository and storage, plus helpers to talk to it.
struct TestGateway {
    let repository = MemoryMediaRepository()
    let storage: MemoryStorage
    let broker = InMemoryBroker()
    let uploads = MemoryResumableUploadStore()
    let events = MemoryMediaEventLog()
    let tickets = MemoryEventStreamTicketStore()
    let webhooks = MemoryWebhookStore()
    let deadLetters = MemoryDeadLetterStore()
    /// Fair use (SPEC §10): the quota figures, the rate budget, the open streams.
    let quotas = MemoryQuotaStore()
    let uploadRates = MemoryUploadRateStore()
    let liveStreams = MemoryLiveStreamRegistry()
    /// Transform variants in the ledger (SPEC §12).
    let variants = MemoryVariantStore()
    /// Admin sessions: pass one store to two test Gateways to have them share sessions as Gateways share the database.
    let adminSessions: MemoryAdminSessionStore
    var configuration: GatewayConfiguration
    let authenticator: JWTAuthenticator

    init(environment: [String: String] = [:], storage: MemoryStorage = MemoryStorage(),
         adminSessions: MemoryAdminSessionStore = MemoryAdminSessionStore()) throws {
        self.storage = storage
        self.adminSessions = adminSessions
        var env = [
            "MEDIA_JWT_SECRET": "test-secret-that-is-long-enough-for-hs256",
            "MEDIA_PUBLIC_BASE_URL": "http://media.test",
            "MEDIA_STORAGE": "local:/tmp/unused",
        ]
        env.merge(environment) { $1 }
        configuration = try GatewayConfiguration(environment: Environment(env))
        authenticator = JWTAuthenticator(secret: configuration.jwtSecret)
    }

    func token(user: Int64 = 1, name: String? = nil) -> String {
        authenticator.mint(user: AuthenticatedUser(id: user, username: name ?? "user\(user)"))
    }

    func auth(_ user: Int64 = 1) -> HTTPFields { [.authorization: "Bearer \(token(user: user))"] }

    /// A staff member's headers (JSON body).
    func staff() -> HTTPFields {
        [.authorization: "Bearer \(authenticator.mint(user: AuthenticatedUser(id: 900, username: "ops", isStaff: true)))",
         .contentType: "application/json"]
    }

    func dependencies() -> GatewayDependencies {
        var dependencies = GatewayDependencies(repository: repository, storage: storage, broker: broker, uploads: uploads)
        dependencies.events = events
        dependencies.tickets = tickets
        dependencies.webhooks = webhooks
        dependencies.adminSessions = adminSessions
        dependencies.deadLetters = deadLetters
        dependencies.quotas = quotas
        dependencies.uploadRates = uploadRates
        dependencies.liveStreams = liveStreams
        dependencies.variants = variants
        return dependencies
    }

    func router() -> Router<GatewayRequestContext> {
        buildRouter(configuration: configuration, dependencies: dependencies())
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: router())
        try await app.test(.router, body)
    }
}

/// A multipart/form-data body built by hand, so tests control every byte.
struct MultipartBody {
    static let boundary = "----mediaflow-test-boundary-7MA4YWxkTrZu0gW"
    var data = Data()

    mutating func addFile(name: String = "file", filename: String, bytes: [UInt8], contentType: String = "application/octet-stream") {
        data.append(Data("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8))
        data.append(contentsOf: bytes)
        data.append(Data("\r\n".utf8))
    }

    mutating func addField(_ name: String, _ value: String) {
        data.append(Data("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
    }

    func finished() -> ByteBuffer {
        var d = data
        d.append(Data("--\(Self.boundary)--\r\n".utf8))
        return ByteBuffer(bytes: d)
    }

    static func file(filename: String, bytes: [UInt8], fields: [(String, String)] = []) -> ByteBuffer {
        var body = MultipartBody()
        for (k, v) in fields { body.addField(k, v) }
        body.addFile(filename: filename, bytes: bytes)
        return body.finished()
    }

    static var headers: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }
}

/// Leading bytes of real formats (the Gateway sniffs; it never decodes).
enum Samples {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [UInt8](repeating: 0x42, count: 200)
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 100)
    static let pdf: [UInt8] = Array("%PDF-1.7\n%âãÏÓ\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".utf8) + [UInt8](repeating: 0x20, count: 64)
    static let mp3: [UInt8] = Array("ID3".utf8) + [0x04, 0, 0, 0, 0, 0, 0] + [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 200)
    static let mp4: [UInt8] = [0, 0, 0, 0x20] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2avc1mp41".utf8) + [UInt8](repeating: 0, count: 100)
}

func decodeJSON(_ buffer: ByteBuffer) throws -> [String: JSONValue] {
    try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer.readableBytesView))
}

extension JSONValue {
    var int: Int64? { intValue }
    var string: String? { stringValue }
    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    var isNull: Bool { self == .null }
}

/// A value a test's `@Sendable` closures write and read (what one test Gateway's closure hands to the next).
final class Captured<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update(_ change: (inout Value) -> Void) { storage.withLock { change(&$0) } }
}
