import Foundation
import GatewayKit
import NIOCore

/// Which webhook URLs may be posted to (SPEC §8, §10): http or https only, and never a private, loopback, link-local or
/// otherwise internal address unless `MEDIA_WEBHOOK_ALLOW_PRIVATE` is true (development and tests). Otherwise a
/// user could have the Gateway post into the network it runs in. Checked at registration and at each attempt, by
/// one lookup whose answer is also where the attempt connects (`PinnedTarget`): a second lookup could be answered
/// differently by a rebinding name.
package struct WebhookAddressPolicy: Sendable {
    package let allowPrivate: Bool
    package let resolver: any WebhookTargetResolver

    package init(allowPrivate: Bool, resolver: any WebhookTargetResolver = SystemWebhookTargetResolver()) {
        self.allowPrivate = allowPrivate
        self.resolver = resolver
    }

    package struct Refusal: Error, CustomStringConvertible {
        package let description: String
    }

    /// Where one attempt connects: the URL's host (for the `Host` header, TLS's server name and its certificate) and
    /// the checked address the connection goes to.
    package struct PinnedTarget: Sendable {
        package var host: String
        package var address: SocketAddress
        /// The URL named an address itself: nothing to pin.
        package var isLiteral: Bool
        /// The address as text, for the HTTP client's DNS override.
        package var addressText: String { address.ipAddress ?? host }
    }

    /// The URL if its form is acceptable (scheme, host, no credentials in it).
    package func parse(_ text: String) throws(Refusal) -> URL {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw Refusal(description: "The url must be an absolute http or https URL.") }
        guard url.user == nil, url.password == nil else {
            throw Refusal(description: "The url must not carry credentials.")
        }
        return url
    }

    /// Resolves the URL's host once and refuses it if any address it has is an internal one (unless allowed);
    /// otherwise the address to connect to.
    package func resolve(_ url: URL) async throws(Refusal) -> PinnedTarget {
        guard let host = url.host else { throw Refusal(description: "The url has no host.") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        let addresses: [SocketAddress]
        do {
            addresses = try await resolver.addresses(of: bare, port: port)
        } catch is SystemWebhookTargetResolver.TimedOut {
            throw Refusal(description: "The url's host \(bare) did not resolve within 5 s.")
        } catch {
            throw Refusal(description: "The url's host \(bare) does not resolve.")
        }
        // IPv4 first: hosts without an IPv6 route are common, and pinning leaves no second try to another family.
        let ordered = addresses.filter { Self.bytes($0).count == 4 } + addresses.filter { Self.bytes($0).count != 4 }
        guard let first = ordered.first else { throw Refusal(description: "The url's host \(bare) does not resolve.") }
        if !allowPrivate, let blocked = ordered.map(Self.bytes).first(where: Self.isInternal) {
            throw Refusal(description:
                "The url's host \(bare) is \(Self.text(blocked)), a private, loopback or link-local address: not allowed.")
        }
        return PinnedTarget(host: bare, address: first, isLiteral: (try? SocketAddress(ipAddress: bare, port: port)) != nil)
    }

    /// An address's bytes: 4 (IPv4), 16 (IPv6), none for a Unix socket (which counts as internal).
    package static func bytes(_ address: SocketAddress) -> [UInt8] {
        switch address {
        case .v4(let a): withUnsafeBytes(of: a.address.sin_addr) { Array($0) }
        case .v6(let a): withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
        case .unixDomainSocket: []
        }
    }

    /// An address's bytes: 4 (IPv4) or 16 (IPv6).
    package static func isInternal(_ address: [UInt8]) -> Bool {
        if address.count == 4 {
            let (a, b) = (address[0], address[1])
            return a == 0 || a == 10 || a == 127 || a >= 224            // this network, private, loopback, multicast/reserved
                || (a == 100 && b >= 64 && b < 128)                      // shared (CGNAT)
                || (a == 169 && b == 254)                                // link-local
                || (a == 172 && b >= 16 && b < 32) || (a == 192 && b == 168)
                || (a == 192 && b == 0 && address[2] == 0)               // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19))                    // benchmarking
        }
        guard address.count == 16 else { return true }
        if address.allSatisfy({ $0 == 0 }) || (address[0..<15].allSatisfy { $0 == 0 } && address[15] == 1) { return true }
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xff && address[11] == 0xff {
            return isInternal(Array(address[12..<16]))                  // IPv4-mapped
        }
        if address[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return isInternal(Array(address[12..<16]))                  // NAT64 (64:ff9b::/96)
        }
        if address[0] == 0x20 && address[1] == 0x02 && isInternal(Array(address[2..<6])) {
            return true                                                 // 6to4 (2002::/16) of an internal IPv4
        }
        if address[0..<12].allSatisfy({ $0 == 0 }) { return true }      // IPv4-compatible (deprecated), unspecified
        return (address[0] & 0xfe) == 0xfc                              // unique local
            || (address[0] == 0xfe && (address[1] & 0x80) == 0x80)       // link-local fe80::/10, site-local fec0::/10
            || address[0..<4] == [0x20, 0x01, 0x00, 0x00]                // Teredo 2001::/32 (tunnels to any IPv4)
            || address[0] == 0xff                                        // multicast
    }

    package static func text(_ address: [UInt8]) -> String {
        address.count == 4 ? address.map(String.init).joined(separator: ".")
            : stride(from: 0, to: address.count, by: 2).map { String(format: "%x", Int(address[$0]) << 8 | Int(address[$0 + 1])) }
                .joined(separator: ":")
    }
}
