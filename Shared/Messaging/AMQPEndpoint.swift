import Foundation

/// Where and how to connect, parsed from an `amqp://user:pass@host:port/vhost` URL.
struct AMQPEndpoint: Sendable, Equatable {
    var host: String
    var port: Int32
    var user: String
    var password: String
    var vhost: String

    init(url: String) throws(MessagingError) {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "amqp" else {
            throw .invalidURL("not an amqp:// URL: \(url)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidURL("missing host in \(url)")
        }
        self.host = host
        self.port = Int32(components.port ?? 5672)
        self.user = components.user ?? "guest"
        self.password = components.password ?? "guest"
        // `amqp://host` and `amqp://host/` mean the default vhost "/"; `/%2F` spells it explicitly.
        let path = components.path
        if path.isEmpty || path == "/" {
            self.vhost = "/"
        } else {
            self.vhost = String(path.dropFirst())
        }
    }

    /// For logs: never includes the password.
    var redacted: String { "amqp://\(user)@\(host):\(port)/\(vhost)" }
}

/// Growing delay between reconnect attempts.
struct Backoff: Sendable {
    let initial: Duration
    let cap: Duration
    private var current: Duration

    init(initial: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.initial = initial
        self.cap = cap
        self.current = initial
    }

    mutating func next() -> Duration {
        let delay = current
        current = min(current * 2, cap)
        return delay
    }

    mutating func reset() { current = initial }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
