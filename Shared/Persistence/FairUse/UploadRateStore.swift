import Foundation

/// `MEDIA_UPLOAD_RATE`: so many uploads per second, minute or hour (SPEC §10).
public struct UploadRate: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    /// The window `count` is per, in seconds (1, 60 or 3600).
    public var perSeconds: Int

    public init(count: Int, perSeconds: Int) {
        self.count = count
        self.perSeconds = perSeconds
    }

    /// `300/m`, `5/s`, `1000/h`; nil for `off`; throws a readable message for anything else.
    public static func parse(_ text: String) throws -> UploadRate? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "off" { return nil }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), count >= 1,
              let per = ["s": 1, "m": 60, "h": 3600][String(parts[1])]
        else {
            throw UploadRateSyntaxError(text: text)
        }
        return UploadRate(count: count, perSeconds: per)
    }

    /// The GCRA's emission interval: the time one upload's worth of budget takes to come back, in microseconds.
    public var intervalMicros: Int64 { max(1, Int64(perSeconds) * 1_000_000 / Int64(count)) }

    public var description: String { "\(count)/\(["s", "m", "h"][perSeconds == 1 ? 0 : perSeconds == 60 ? 1 : 2])" }
}

public struct UploadRateSyntaxError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "MEDIA_UPLOAD_RATE must read N/s, N/m, N/h (N ≥ 1) or off, not '\(text)'" }
}

/// One upload's answer from the rate limit, with what the `RateLimit-*` headers say.
public struct RateDecision: Sendable, Equatable {
    public var allowed: Bool
    /// `RateLimit-Limit`: the burst, the most uploads that may be sent at once.
    public var limit: Int
    /// `RateLimit-Remaining`: how many more may be sent right now.
    public var remaining: Int
    /// `RateLimit-Reset`: seconds until the whole burst is available again.
    public var resetSeconds: Int
    /// `Retry-After` of a refusal: whole seconds, rounded up, at least 1, until one more upload is allowed.
    public var retryAfterSeconds: Int

    public init(allowed: Bool, limit: Int, remaining: Int, resetSeconds: Int, retryAfterSeconds: Int) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetSeconds = resetSeconds
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The decision of the generic cell rate algorithm from the theoretical arrival time after this upload (`taken`,
    /// nil when refused) or before it (`previous`), both in microseconds after `now`.
    public static func gcra(takenMicros: Int64?, previousMicros: Int64?, rate: UploadRate, burst: Int) -> RateDecision {
        let interval = rate.intervalMicros
        func seconds(_ micros: Int64) -> Int { Int(max(0, (micros + 999_999) / 1_000_000)) }
        if let taken = takenMicros {
            let used = Int((max(0, taken) + interval - 1) / interval)
            return RateDecision(allowed: true, limit: burst, remaining: max(0, burst - used), resetSeconds: seconds(taken),
                                retryAfterSeconds: 0)
        }
        let ahead = max(0, previousMicros ?? Int64(burst) * interval)
        let wait = ahead + interval - Int64(burst) * interval
        return RateDecision(allowed: false, limit: burst, remaining: 0, resetSeconds: seconds(ahead),
                            retryAfterSeconds: max(1, seconds(wait)))
    }
}

/// The upload rate limit's budget (SPEC §10), one per user across every Gateway: a GCRA whose one number per user,
/// the theoretical arrival time, lives in PostgreSQL and is checked and moved by one statement a request.
public protocol UploadRateStore: Sendable {
    func take(userId: Int64, rate: UploadRate, burst: Int) async throws -> RateDecision
}
