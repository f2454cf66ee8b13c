import CVips

/// Process-wide libvips state: started once, on first use, from whichever thread gets there first.
enum VipsRuntime {
    /// `nil` when libvips started; otherwise why it did not. A `static let` is initialised exactly once, thread-safely.
    private static let startupFailure: String? = {
        // The operation cache is disabled: every job reads a different file (or the same path with new content),
        // so cached operations would only hold memory or return stale pixels.
        guard mf_vips_start("mediaflow", 0) == 0 else { return takeErrorMessage(fallback: "vips_init failed") }
        return nil
    }()

    /// Starts libvips if it has not been started yet.
    static func start() {
        _ = startupFailure
    }

    /// Starts libvips if needed; fails with `decode_failed` if it cannot start.
    static func ensureStarted() throws(ImagingError) {
        if let startupFailure { throw .decodeFailed("libvips failed to start: \(startupFailure)") }
    }

    /// Takes (and clears) libvips' error buffer. The buffer is process-wide, so under concurrency a message may
    /// belong to another thread's failure; the return codes, not the buffer, decide whether something failed.
    static func takeErrorMessage(fallback: String) -> String {
        guard let raw = vips_error_buffer_copy() else { return fallback }
        defer { g_free(raw) }
        // libvips ends every message with a newline; keep the lines, drop the trailing blank.
        let lines = String(cString: raw).split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        return lines.isEmpty ? fallback : lines.joined(separator: "; ")
    }
}
