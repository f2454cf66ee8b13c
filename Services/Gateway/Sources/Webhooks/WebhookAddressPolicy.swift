import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which webhook URLs may be posted to (SPEC §8): http or https only, and never a private, loopback, link-local or
/// otherwise internal address unless `MEDIA_WEBHOOK_ALLOW_PRIVATE` is true (development and tests). Otherwise a
/// user could have the Gateway post into the network it runs in. Checked at registration and again before each
/// attempt, since a name may resolve elsewhere later.
struct WebhookAddressPolicy: Sendable {
    let allowPrivate: Bool

    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// The URL if its form is acceptable (scheme, host, no credentials in it).
    func parse(_ text: String) throws(Refusal) -> URL {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw Refusal(description: "The url must be an absolute http or https URL.") }
        guard url.user == nil, url.password == nil else {
            throw Refusal(description: "The url must not carry credentials.")
        }
        return url
    }

    /// Resolves the URL's host and refuses it if any address it has is an internal one (unless allowed).
    func check(_ url: URL) async throws(Refusal) {
        guard !allowPrivate else { return }
        guard let host = url.host else { throw Refusal(description: "The url has no host.") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        // A resolver that does not answer must not hold an attempt (or a registration) for long.
        let addresses = await withTaskGroup(of: [[UInt8]]?.self) { group in
            group.addTask { await Self.resolve(bare) }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let addresses else { throw Refusal(description: "The url's host \(bare) did not resolve within 5 s.") }
        guard !addresses.isEmpty else { throw Refusal(description: "The url's host \(bare) does not resolve.") }
        if let blocked = addresses.first(where: Self.isInternal) {
            throw Refusal(description:
                "The url's host \(bare) is \(Self.text(blocked)), a private, loopback or link-local address: not allowed.")
        }
    }

    /// An address's bytes: 4 (IPv4) or 16 (IPv6).
    static func isInternal(_ address: [UInt8]) -> Bool {
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
            || (address[0] == 0xfe && (address[1] & 0xc0) == 0x80)       // link-local
            || address[0] == 0xff                                        // multicast
    }

    static func text(_ address: [UInt8]) -> String {
        address.count == 4 ? address.map(String.init).joined(separator: ".")
            : stride(from: 0, to: address.count, by: 2).map { String(format: "%x", Int(address[$0]) << 8 | Int(address[$0 + 1])) }
                .joined(separator: ":")
    }

    /// Every address of a name (getaddrinfo, on a thread of its own: it blocks).
    static func resolve(_ host: String) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &list) == 0 else {
                    continuation.resume(returning: [])
                    return
                }
                defer { freeaddrinfo(list) }
                var result: [[UInt8]] = []
                var cursor = list
                while let entry = cursor {
                    if let address = entry.pointee.ai_addr {
                        if entry.pointee.ai_family == AF_INET {
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                                result.append(withUnsafeBytes(of: v4.pointee.sin_addr) { Array($0) })
                            }
                        } else if entry.pointee.ai_family == AF_INET6 {
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                                result.append(withUnsafeBytes(of: v6.pointee.sin6_addr) { Array($0) })
                            }
                        }
                    }
                    cursor = entry.pointee.ai_next
                }
                continuation.resume(returning: result)
            }
        }
    }
}
