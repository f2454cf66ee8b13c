import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

#if canImport(Glibc)
import Glibc
#endif

/// SPEC §10's connection rules on a Gateway listening on a real socket, driven by a raw client (issue 27, defect 9):
/// half a request line and then nothing, a body that stops, an idle keep-alive connection, a header section over
/// 32 KiB, and one connection more than the cap. Timeouts are short here; what is checked is that each connection
/// ends, when, and with what answer.
@Suite("Connections: timeouts, the cap and the header size", .serialized)
struct ConnectionLimitTests {
    static var limits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.headerTimeout = .milliseconds(600)
        limits.bodyIdleTimeout = .milliseconds(600)
        limits.idleTimeout = .milliseconds(900)
        limits.maxConnections = 3
        limits.lingerAfterRefusal = .milliseconds(300)
        return limits
    }

    /// A Gateway over memory on 127.0.0.1 with `limits`; `body` gets its port.
    func withLiveGateway(_ gateway: TestGateway, limits: ConnectionLimits = Self.limits,
                         _ body: @Sendable (Int) async throws -> Void) async throws {
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: gateway.router(), server: .guarded(limits: limits, logger: Logger(label: "test")),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                bound = port.withLock { $0 }
                if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await body(try #require(bound))
            group.cancelAll()
        }
    }

    @Test func halfARequestLineIsClosedAfterTheHeaderTimeout() async throws {
        try await withLiveGateway(try TestGateway()) { port in
            let client = try RawClient(port: port)
            try client.send("GET /api/medi")
            let (answer, after) = client.readUntilClosed(within: .seconds(5))
            #expect(answer.isEmpty, "closed without an answer: \(answer)")
            #expect(after >= .milliseconds(550) && after < .seconds(3), "after the header timeout: \(after)")
        }
    }

    @Test func anUploadThatStopsSendingIsCutAndStoresNothing() async throws {
        let gateway = try TestGateway()
        try await withLiveGateway(gateway) { port in
            let client = try RawClient(port: port)
            let boundary = "b0und"
            let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n"
            try client.send("POST /api/media/upload/ HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(gateway.token())\r\n"
                + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: 5000000\r\n\r\n" + head)
            try client.send(bytes: [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 7, count: 70_000))
            let (_, after) = client.readUntilClosed(within: .seconds(5))
            #expect(after < .seconds(3), "the stalled body was cut after the body timeout: \(after)")
        }
        #expect(gateway.storage.keys.isEmpty, "nothing stored: \(gateway.storage.keys)")
        #expect(gateway.repository.outboxEntries.isEmpty, "no media, no event")
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withLiveGateway(try TestGateway()) { port in
            let client = try RawClient(port: port)
            try client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            let (answer, after) = client.readUntilClosed(within: .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 200"), "answered first: \(answer.prefix(60))")
            #expect(after >= .milliseconds(850) && after < .seconds(3), "then closed when idle: \(after)")
        }
    }

    @Test func aHeaderSectionOver32KiBIsAnswered431() async throws {
        try await withLiveGateway(try TestGateway()) { port in
            let client = try RawClient(port: port)
            try client.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 33 * 1024) + "\r\n\r\n")
            let (answer, _) = client.readUntilClosed(within: .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 431"), "\(answer.prefix(80))")
            #expect(answer.contains(#""code":"header_too_large""#))
            // Just under the limit is fine.
            let fine = try RawClient(port: port)
            try fine.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + String(repeating: "a", count: 30 * 1024) + "\r\n\r\n")
            #expect(fine.readUntilClosed(within: .seconds(5)).answer.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func oneConnectionOverTheCapIsAnswered503Overloaded() async throws {
        try await withLiveGateway(try TestGateway()) { port in
            let held = try (0..<3).map { _ in try RawClient(port: port) }
            for client in held { try client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n") }
            for client in held { #expect(client.read(within: .seconds(5)).hasPrefix("HTTP/1.1 200")) }
            let extra = try RawClient(port: port)
            try extra.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            let (answer, _) = extra.readUntilClosed(within: .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 503"), "\(answer.prefix(80))")
            #expect(answer.contains(#""code":"overloaded""#))
            // One of the held ones goes: the next connection is served.
            held[0].close()
            try await Task.sleep(for: .milliseconds(100))
            let next = try RawClient(port: port)
            try next.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(next.read(within: .seconds(5)).hasPrefix("HTTP/1.1 200"))
        }
    }
}

/// A blocking TCP client on loopback (its reads wait on the socket, not on Swift's cooperative threads' time).
final class RawClient: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    deinit { Glibc.close(fd) }

    func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    func send(_ text: String) throws { try send(bytes: Array(text.utf8)) }

    func send(bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
    }

    /// What arrives within `limit` (stops at the first pause once something arrived).
    func read(within limit: Duration) -> String {
        var text = ""
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, text.isEmpty ? 100 : 50) > 0 else {
                if text.isEmpty { continue } else { break }
            }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            text += String(decoding: buffer[..<n], as: UTF8.self)
        }
        return text
    }

    /// Everything until the server closes the connection, and how long that took; gives up after `limit`.
    func readUntilClosed(within limit: Duration) -> (answer: String, after: Duration) {
        let start = ContinuousClock.now
        var text = ""
        while ContinuousClock.now - start < limit {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (text, ContinuousClock.now - start) }
            text += String(decoding: buffer[..<n], as: UTF8.self)
        }
        return (text, ContinuousClock.now - start)
    }
}
