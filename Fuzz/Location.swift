import Foundation

// libFuzzer entry for LocationScrubber (scripts/fuzz.sh location): every original's metadata is read by it before it
// is served to anyone but its owner. The input is tried as each format; every patch must lie inside the file and
// applying them must keep its length (what serving ranges of a patched original relies on).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLocation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var all = LocationScrubber.jpeg(bytes) + LocationScrubber.png(bytes) + LocationScrubber.webp(bytes)
    let done = DispatchSemaphore(value: 0)
    let movie = MoviePatches()
    Task {
        movie.value = try? await LocationScrubber.movie(size: Int64(bytes.count)) { offset, length in
            precondition(offset >= 0 && length >= 0 && offset + Int64(length) <= Int64(bytes.count), "read out of the file")
            return Array(bytes[Int(offset)..<Int(offset) + length])
        }
        done.signal()
    }
    done.wait()
    all += movie.value ?? []
    for patch in all {
        precondition(patch.offset >= 0 && patch.offset + Int64(patch.bytes.count) <= Int64(bytes.count), "a patch outside the file")
    }
    var patched = bytes
    LocationScrubber.apply(all, to: &patched, at: 0)
    precondition(patched.count == bytes.count)
    return 0
}

private final class MoviePatches: @unchecked Sendable {
    var value: [LocationScrubber.Patch]?
}
