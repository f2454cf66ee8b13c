// libFuzzer entry for ContentSniffer (scripts/fuzz.sh sniffer): the first bytes of every upload are untrusted and
// decide how the rest is read. A sniffed format must be one the same bytes sniff to again, from an array or a slice.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSniffer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let format = ContentSniffer.sniff(bytes)
    let again = ContentSniffer.sniff(bytes[...])
    precondition(format == again, "sniffing an array and a slice of the same bytes disagree")
    return 0
}
