import Foundation

/// A W3C Trace Context `traceparent` (`00-<trace id>-<parent id>-<flags>`): one upload's trace id travels from the
/// Gateway's request through the outbox and every AMQP message to the outcome's fold (SPEC §3), and every service
/// logs it as `trace_id`, so one grep finds an upload's path across processes and machines.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits, not all zero.
    public let traceId: String
    /// 16 lowercase hex digits, not all zero: the span that sent this.
    public let parentId: String
    /// `01` when sampled.
    public let flags: String

    /// Parses a `traceparent` header; nil when it is not a valid version-00 value (a new trace is started then).
    public init?(header: String) {
        let parts = header.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.dropFirst().allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        traceId = String(parts[1])
        parentId = String(parts[2])
        flags = String(parts[3])
    }

    private init(traceId: String, parentId: String, flags: String) {
        self.traceId = traceId
        self.parentId = parentId
        self.flags = flags
    }

    /// A new trace (sampled).
    public static func random() -> TraceParent {
        TraceParent(traceId: hex(UInt64.random(in: 1...UInt64.max)) + hex(UInt64.random(in: 0...UInt64.max)),
                    parentId: hex(UInt64.random(in: 1...UInt64.max)), flags: "01")
    }

    /// The same trace, sent on by a new span (what a hop puts on the messages it sends).
    public func child() -> TraceParent {
        TraceParent(traceId: traceId, parentId: Self.hex(UInt64.random(in: 1...UInt64.max)), flags: flags)
    }

    public var header: String { "00-\(traceId)-\(parentId)-\(flags)" }
    public var description: String { header }

    /// The AMQP header and HTTP header name.
    public static let headerName = "traceparent"

    private static func hex(_ value: UInt64) -> String { Hex.lowercase(value) }
}
