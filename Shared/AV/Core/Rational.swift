import CAV

/// A libav rational (time bases, frame rates, aspect ratios) as a Sendable value.
public struct Rational: Sendable, Hashable, CustomStringConvertible {
    public var num: Int32
    public var den: Int32

    public init(_ num: Int32, _ den: Int32) {
        self.num = num
        self.den = den
    }

    init(_ r: AVRational) { self.init(r.num, r.den) }
    var av: AVRational { AVRational(num: num, den: den) }

    /// The value as a Double, or nil when the denominator or numerator is zero.
    public var value: Double? { num == 0 || den == 0 ? nil : Double(num) / Double(den) }
    public var inverted: Rational { Rational(den, num) }
    public var description: String { "\(num)/\(den)" }

    /// Microseconds (AV_TIME_BASE).
    public static let microseconds = Rational(1, 1_000_000)

    /// `value` converted from this time base to `target` (rounding to nearest, NOPTS kept).
    public func rescale(_ value: Int64, to target: Rational) -> Int64 {
        value == mf_nopts_value() ? value : av_rescale_q(value, av, target.av)
    }

    /// Seconds of a timestamp in this time base.
    public func seconds(_ value: Int64) -> Double { Double(value) * Double(num) / Double(max(den, 1)) }
}

/// The value libav uses for "no timestamp".
public let noTimestamp: Int64 = mf_nopts_value()
