/// AMQP topic matching: words separated by `.`, `*` matches exactly one word, `#` zero or more words.
func topicMatches(pattern: String, routingKey: String) -> Bool {
    let patternWords = pattern.split(separator: ".", omittingEmptySubsequences: false)
    let keyWords = routingKey.split(separator: ".", omittingEmptySubsequences: false)
    return matchWords(patternWords[...], keyWords[...])
}

private func matchWords(_ pattern: ArraySlice<Substring>, _ key: ArraySlice<Substring>) -> Bool {
    guard let first = pattern.first else { return key.isEmpty }
    let restPattern = pattern.dropFirst()
    switch first {
    case "#":
        // `#` absorbs 0...n words: try every split point.
        var remaining = key
        while true {
            if matchWords(restPattern, remaining) { return true }
            guard !remaining.isEmpty else { return false }
            remaining = remaining.dropFirst()
        }
    case "*":
        guard !key.isEmpty else { return false }
        return matchWords(restPattern, key.dropFirst())
    default:
        guard let word = key.first, word == first else { return false }
        return matchWords(restPattern, key.dropFirst())
    }
}
