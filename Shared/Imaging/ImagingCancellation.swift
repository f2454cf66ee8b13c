import CVips

/// Stops a running `ImagePipeline.process` from another thread: `cancel()` raises a flag that libvips reads while it
/// computes (through each evaluated image's "eval" signal), so even one long decode of a huge image stops within
/// moments instead of running to its end after the job was given up (a timeout, a drain).
public final class ImagingCancellation: @unchecked Sendable {
    // @unchecked: the flag is only read and written through the shim's atomics, and lives as long as this object,
    // which the caller keeps for the whole `process` call.
    let flag: UnsafeMutablePointer<Int32>

    public init() {
        flag = .allocate(capacity: 1)
        flag.initialize(to: 0)
    }

    deinit {
        flag.deallocate()
    }

    public func cancel() { mf_flag_raise(flag) }

    public var isCancelled: Bool { mf_flag_is_raised(flag) != 0 }

    /// Makes the computation of `image` stop once cancelled.
    func watch(_ image: VipsImageRef) { mf_watch_cancel(image.pointer, flag) }

    /// Throws `cancelled` when raised (between stages).
    func check() throws(ImagingError) {
        if isCancelled { throw .cancelled() }
    }
}
