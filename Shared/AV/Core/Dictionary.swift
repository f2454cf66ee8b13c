import CAV

/// `AVDictionary` helpers: libav options in, metadata tags out.
enum AVDictionaryBridge {
    /// Every entry of a libav dictionary.
    static func entries(_ dict: OpaquePointer?) -> [String: String] {
        guard let dict else { return [:] }
        var result: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
            if let key = e.pointee.key, let value = e.pointee.value {
                result[String(cString: key)] = String(cString: value)
            }
            entry = e
        }
        return result
    }

    /// Calls `body` with a dictionary holding `options`, then frees what libav did not consume.
    /// Returns the result and the keys libav left unused.
    static func with<T>(
        _ options: [String: String], _ body: (UnsafeMutablePointer<OpaquePointer?>) throws(AVError) -> T
    ) throws(AVError) -> (T, unused: [String]) {
        var dict: OpaquePointer? = nil
        for (key, value) in options { av_dict_set(&dict, key, value, 0) }
        defer { av_dict_free(&dict) }
        let result = try body(&dict)
        return (result, Array(entries(dict).keys))
    }
}
