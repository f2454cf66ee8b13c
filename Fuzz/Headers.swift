// libFuzzer entry for header grammars read from untrusted requests (scripts/fuzz.sh headers): `traceparent` and
// the durations in settings. A parsed traceparent prints back to a header that parses to the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let parent = TraceParent(header: text) {
        precondition(TraceParent(header: parent.header) == parent, "traceparent does not round-trip")
    }
    _ = DurationText.parse(text)
    return 0
}
