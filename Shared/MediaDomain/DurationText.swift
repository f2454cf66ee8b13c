import Foundation

/// Durations as configuration and operators write them (SPEC §4): a whole number and a unit, `500ms`, `90s`,
/// `30m`, `6h`, `7d`; a bare number is seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber }
        guard !digits.isEmpty, let value = Int64(digits), value >= 0 else { return nil }
        let unit: Int64
        switch trimmed.dropFirst(digits.count) {
        case "ms": return .milliseconds(value)
        case "", "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3600
        case "d": unit = 86_400
        default: return nil
        }
        // `99999999999999d` is no duration (and must not crash the process that reads it).
        let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow, seconds <= Int64.max / 1000 else { return nil }
        return .seconds(seconds)
    }

    /// The shortest exact text for `duration` (`7d`, `90s`, `1500ms`).
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        let milliseconds = duration.milliseconds
        guard milliseconds % 1000 == 0 else { return "\(milliseconds)ms" }
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where seconds > 0 && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}

extension Duration {
    /// Whole milliseconds (SQL intervals, `processing_ms`, logs).
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
