import HTTPTypes

extension HTTPFields {
    /// Sets a header by its name's text (the names this code spells are valid tokens; `HTTPField.Name` is failable
    /// only for text that is not one, which is then skipped rather than force-unwrapped).
    package mutating func set(_ name: String, _ value: String) {
        if let field = HTTPField.Name(name) { self[field] = value }
    }

    /// The first value of a header, by its name's text, in any case.
    package func value(named name: String) -> String? {
        let lowercased = name.lowercased()
        return first { $0.name.canonicalName == lowercased }?.value
    }
}
