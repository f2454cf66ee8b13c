import Foundation

// libFuzzer entry for JSONParser (scripts/fuzz.sh json): request bodies and queued events are parsed by it. What it
// accepts must survive a round trip: encoded by JSONEncoder and parsed again, the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? JSONParser.parse(buffer) else { return 0 }
    guard let encoded = try? JSONEncoder().encode(value) else { return 0 }
    let again = encoded.withUnsafeBytes { try? JSONParser.parse($0) }
    precondition(again != nil, "JSONEncoder's output of a parsed value does not parse")
    if !containsDouble(value) { precondition(again == value, "a round trip changed the value") }
    return 0
}

private func containsDouble(_ value: JSONValue) -> Bool {
    switch value {
    case .double: true
    case .array(let items): items.contains(where: containsDouble)
    case .object(let members): members.values.contains(where: containsDouble)
    default: false
    }
}
