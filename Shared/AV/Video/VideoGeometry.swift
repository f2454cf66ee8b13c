/// Output sizes of SPEC §2: fit within a box keeping the aspect, even dimensions, never upscale.
public enum VideoGeometry {
    /// Fits `width`x`height` within a `long`x`short` box turned to the picture's orientation (a portrait
    /// 1080x1920 is "within 1080p"), never upscaling, then rounds both sides down to even numbers (min 2).
    public static func fit(width: Int, height: Int, long: Int, short: Int) -> (width: Int, height: Int) {
        guard width > 0, height > 0 else { return (2, 2) }
        let (boxW, boxH) = width >= height ? (long, short) : (short, long)
        let scale = min(1, Double(boxW) / Double(width), Double(boxH) / Double(height))
        var w = Int((Double(width) * scale).rounded())
        var h = Int((Double(height) * scale).rounded())
        w = min(w, boxW)
        h = min(h, boxH)
        return (even(w), even(h))
    }

    /// `value` rounded down to an even number, at least 2.
    public static func even(_ value: Int) -> Int { max(2, value & ~1) }

    /// Whether `width`x`height` is already within the box (and even): no scaling needed.
    public static func isWithin(width: Int, height: Int, long: Int, short: Int) -> Bool {
        let (boxW, boxH) = width >= height ? (long, short) : (short, long)
        return width <= boxW && height <= boxH && width % 2 == 0 && height % 2 == 0
    }

    /// The centred square crop of `width`x`height`, with an even origin (4:2:0 chroma stays aligned).
    public static func centreSquare(width: Int, height: Int) -> (x: Int, y: Int, side: Int) {
        let side = min(width, height)
        return (((width - side) / 2) & ~1, ((height - side) / 2) & ~1, side)
    }
}
