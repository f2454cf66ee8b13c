import Foundation

/// Named points where a test can make the process die, to prove that a crash there loses nothing. Set with
/// `MEDIA_FAILPOINT=<name>`; never set in production (`--help` marks it "tests only").
public enum Failpoint {
    /// The failpoint this process was started with, read once.
    static let armed = ProcessInfo.processInfo.environment["MEDIA_FAILPOINT"]

    /// Exits with status 86 when `name` is the armed failpoint.
    public static func hit(_ name: String) {
        if armed == name {
            FileHandle.standardError.write(Data("failpoint \(name): exiting\n".utf8))
            exit(86)
        }
    }

    /// The marker a test input carries to be a poison file under `MEDIA_FAILPOINT=abort-on-marker`.
    public static let abortMarker = Array("MEDIAFLOW-TEST-ABORT".utf8)

    /// With `MEDIA_FAILPOINT=abort-on-marker`, aborts the process (SIGABRT, as libvips does on an image it cannot
    /// handle) when the first 64 KiB of the file at `path` hold `abortMarker`: a worker that really dies in a job,
    /// for the poison-message tests, on an input no real file carries.
    public static func abortIfMarked(path: String) {
        guard armed == "abort-on-marker", let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let head = Array((try? handle.read(upToCount: 64 * 1024)) ?? Data())
        guard head.count >= abortMarker.count else { return }
        for start in 0...(head.count - abortMarker.count) where head[start] == abortMarker[0] {
            if Array(head[start..<start + abortMarker.count]) == abortMarker {
                FileHandle.standardError.write(Data("failpoint abort-on-marker: aborting in the job of \(path)\n".utf8))
                abort()
            }
        }
    }
}
