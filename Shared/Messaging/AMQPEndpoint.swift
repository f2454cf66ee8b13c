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

/// The nodes of one broker: a single RabbitMQ, or several nodes of a cluster (SPEC §9), from `MEDIA_AMQP_URL`'s
/// comma-separated URLs. An entry that is only `host:port` takes the first URL's credentials and vhost, so
/// `amqp://u:p@10.0.0.1:5672/,10.0.0.2:5672,10.0.0.3:5672` names a three-node cluster.
///
/// Connections go to one node at a time; when it cannot be reached the next is tried (`AMQPConnection.open(_:from:)`),
/// and after a dropped connection the client starts again from the node after the one it lost.
struct AMQPNodes: Sendable, Equatable {
    let endpoints: [AMQPEndpoint]

    init(url: String) throws(MessagingError) {
        let entries = url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let first = entries.first else { throw .invalidURL("empty AMQP URL") }
        let primary = try AMQPEndpoint(url: first)
        var endpoints = [primary]
        for entry in entries.dropFirst() {
            if entry.lowercased().hasPrefix("amqp://") {
                endpoints.append(try AMQPEndpoint(url: entry))
            } else {
                // host:port (or [v6]:port) with the first node's credentials and vhost.
                guard let components = URLComponents(string: "amqp://\(entry)"), let host = components.host, !host.isEmpty,
                      components.path.isEmpty, components.user == nil
                else { throw .invalidURL("not a node (amqp://… or host:port): \(entry)") }
                var node = primary
                node.host = host
                node.port = Int32(components.port ?? 5672)
                endpoints.append(node)
            }
        }
        self.endpoints = endpoints
    }

    init(_ endpoints: [AMQPEndpoint]) {
        self.endpoints = endpoints
    }

    /// For logs: every node, without passwords.
    var redacted: String { endpoints.map(\.redacted).joined(separator: ",") }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
