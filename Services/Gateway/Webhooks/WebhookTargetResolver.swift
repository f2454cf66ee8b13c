import GatewayKit
import NIOCore
import NIOPosix
import Synchronization

/// Turns a webhook receiver's host name into addresses, once per attempt (SPEC §10): the sender checks what this
/// answered and connects to exactly that, so a name that answers differently a moment later (DNS rebinding) cannot
/// move the connection into the Gateway's own network. A seam so tests answer with names of their own.
package protocol WebhookTargetResolver: Sendable {
    /// Every address of `host` (an IP literal answers itself), IPv4 first.
    func addresses(of host: String, port: Int) async throws -> [SocketAddress]
}

/// The system's resolver (getaddrinfo, as every other program on the machine sees names), run by NIO on Dispatch's
/// threads: never on Swift's cooperative pool, and bounded by `timeout` even when getaddrinfo itself is not.
package struct SystemWebhookTargetResolver: WebhookTargetResolver {
    package init(timeout: TimeAmount = .seconds(5)) {
        self.timeout = timeout
    }

    package struct TimedOut: Error {}
    package var timeout: TimeAmount = .seconds(5)

    package func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return [literal] }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let resolver = NIORandomizedDNSResolver(loop: loop)
        // The AAAA query runs getaddrinfo (both families at once); the A answer completes only after it: ask it first.
        let v6 = resolver.initiateAAAAQuery(host: host, port: port)
        let v4 = resolver.initiateAQuery(host: host, port: port)
        let result = loop.makePromise(of: [SocketAddress].self)
        v4.and(v6).map { $0 + $1 }.cascade(to: result)
        let timer = loop.scheduleTask(in: timeout) { result.fail(TimedOut()) }
        defer { timer.cancel() }
        return try await result.futureResult.get()
    }
}

/// Names answered from a table, for tests: each answer may change from one lookup to the next (a rebinding name),
/// and lookups are counted.
package final class FixedWebhookTargetResolver: WebhookTargetResolver {
    package struct Unknown: Error {}
    /// Per name, the answers of successive lookups; the last one repeats.
    private let answers: [String: [[String]]]
    private let counts = Mutex<[String: Int]>([:])

    package init(_ answers: [String: [[String]]]) { self.answers = answers }

    /// How often `host` was looked up.
    package func lookups(of host: String) -> Int { counts.withLock { $0[host] ?? 0 } }

    package func addresses(of host: String, port: Int) async throws -> [SocketAddress] {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return [literal] }
        let n = counts.withLock { counts -> Int in
            counts[host, default: 0] += 1
            return counts[host] ?? 1
        }
        guard let sequence = answers[host], !sequence.isEmpty else { throw Unknown() }
        return try sequence[min(n, sequence.count) - 1].map { try SocketAddress(ipAddress: $0, port: port) }
    }
}
