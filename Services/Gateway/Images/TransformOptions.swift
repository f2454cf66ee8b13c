import GatewayKit

/// What a transform URL asks for (SPEC §12): the options segment `w_320,h_240,fit_cover,g_smart,q_80` and the
/// extension of the last segment. Parsed strictly: an unknown, repeated or out-of-range option is refused with
/// 400 before the signature is even looked at, so no request a client could not have signed ever reaches a render.
package struct TransformOptions: Hashable, Sendable {
    package enum Fit: String, Sendable, CaseIterable {
        /// Fill the box, cropping what overflows (by `gravity`).
        case cover
        /// Fit inside the box, aspect kept; the box's other side may be smaller.
        case contain
        /// Exactly the box, aspect not kept.
        case fill
        /// Like `contain`; the name one-sided requests default to.
        case inside
    }

    package enum Gravity: String, Sendable, CaseIterable {
        case centre
        /// libvips' attention strategy: the crop keeps the most salient region (skin tones, saturation, edges).
        case smart
        /// libvips' entropy strategy: the crop keeps the busiest region.
        case entropy
        /// SPEC §12 names it: libvips has no face detector, so this is `smart` (attention, which favours skin tones).
        case face
    }

    package enum Format: String, Sendable, CaseIterable {
        case jpg, webp, avif, png
        /// AVIF, then WebP, then JPEG, whichever the request's `Accept` takes first.
        case auto
    }

    /// SPEC §12: a side above this is refused (400), a side above the source's is clamped to it.
    package static let maxSide = 4096

    package var width: Int?
    package var height: Int?
    package var fit: Fit
    package var gravity: Gravity
    package var quality: Int

    package init(width: Int?, height: Int?, fit: Fit? = nil, gravity: Gravity = .centre, quality: Int = 80) {
        self.width = width
        self.height = height
        self.fit = fit ?? (width != nil && height != nil ? .cover : .inside)
        self.gravity = gravity
        self.quality = quality
    }

    /// The options as they are signed and stored: every option, in one order (`w`, `h`, `fit`, `g`, `q`).
    package var canonical: String {
        var parts: [String] = []
        if let width { parts.append("w_\(width)") }
        if let height { parts.append("h_\(height)") }
        parts.append("fit_\(fit.rawValue)")
        parts.append("g_\(gravity.rawValue)")
        parts.append("q_\(quality)")
        return parts.joined(separator: ",")
    }

    /// Parses an options segment; throws 400 `invalid_option` with what is wrong.
    package static func parse(_ text: String) throws(APIError) -> TransformOptions {
        var width: Int?, height: Int?, fit: Fit?, gravity: Gravity?, quality: Int?
        var seen = Set<Substring>()
        guard !text.isEmpty else { throw .invalidOption("no options: give w_<pixels> or h_<pixels>") }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let underscore = part.firstIndex(of: "_") else {
                throw .invalidOption("option \(quoted(part)) is not name_value")
            }
            let name = part[..<underscore], value = part[part.index(after: underscore)...]
            guard seen.insert(name).inserted else { throw .invalidOption("option \(quoted(name)) is given twice") }
            switch name {
            case "w": width = try side(value, "w")
            case "h": height = try side(value, "h")
            case "fit":
                guard let parsed = Fit(rawValue: String(value)) else {
                    throw .invalidOption("fit must be one of \(Fit.allCases.map(\.rawValue).joined(separator: ", ")); got \(quoted(value))")
                }
                fit = parsed
            case "g":
                guard let parsed = value == "center" ? .centre : Gravity(rawValue: String(value)) else {
                    throw .invalidOption("g must be one of \(Gravity.allCases.map(\.rawValue).joined(separator: ", ")); got \(quoted(value))")
                }
                gravity = parsed
            case "q":
                guard let q = Int(value), (1...100).contains(q), value.allSatisfy(\.isASCIIDigit) else {
                    throw .invalidOption("q must be a whole number from 1 to 100; got \(quoted(value))")
                }
                quality = q
            default:
                throw .invalidOption("unknown option \(quoted(name)) (known: w, h, fit, g, q)")
            }
        }
        guard width != nil || height != nil else { throw .invalidOption("give w_<pixels> or h_<pixels> (or both)") }
        return TransformOptions(width: width, height: height, fit: fit, gravity: gravity ?? .centre, quality: quality ?? 80)
    }

    private static func side(_ value: Substring, _ name: String) throws(APIError) -> Int {
        guard value.allSatisfy(\.isASCIIDigit), let pixels = Int(value), pixels >= 1 else {
            throw .invalidOption("\(name) must be a whole number of pixels from 1 to \(maxSide); got \(quoted(value))")
        }
        guard pixels <= maxSide else { throw .invalidOption("\(name) is \(pixels); at most \(maxSide)") }
        return pixels
    }

    private static func quoted(_ text: Substring) -> String {
        "'" + String(text.prefix(40)) + (text.count > 40 ? "…" : "") + "'"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension APIError {
    /// 400 `invalid_option`: a transform option the URL cannot have (SPEC §12).
    static func invalidOption(_ detail: String) -> APIError { .badRequest("invalid_option", detail) }
}
