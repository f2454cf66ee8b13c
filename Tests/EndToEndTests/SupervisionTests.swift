import Foundation
import Testing
import TestSupport

/// The README's run forms start every service under `scripts/supervise.sh` (issue 27, defect 0c): a service that dies
/// is started again, later each time while it keeps dying young, and said so; SIGTERM stops the service and the
/// supervising both.
@Suite("Supervision of the run forms")
struct SupervisionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func aServiceThatDiesIsStartedAgainWithGrowingWaitsUntilStopped() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("supervise-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A "service" that counts its starts and dies at once, the first three times; then it stays up.
        let service = """
            n=$(( $(cat \(dir)/starts 2>/dev/null || echo 0) + 1 )); echo $n > \(dir)/starts
            if [ $n -le 3 ]; then kill -ABRT $$; fi
            trap 'echo stopped > \(dir)/stopped; exit 0' TERM
            while :; do sleep 0.1; done
            """
        let process = try ChildProcess(Self.root.appendingPathComponent("scripts/supervise.sh").path, [
            "demo", "\(dir)/pid", "--", "/bin/bash", "-c", service,
        ], output: .file("\(dir)/log"))
        // Whatever happens below, neither outlives the test (a supervisor left behind restarts its service forever).
        defer {
            if let text = try? String(contentsOfFile: "\(dir)/pid", encoding: .utf8),
               let service = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(service, SIGKILL) }
            if process.isRunning { process.send(SIGKILL) }
            process.waitUntilExit()
        }
        let started = ContinuousClock.now
        let running = await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
            (try? String(contentsOfFile: "\(dir)/starts", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "4"
        }
        #expect(running, "started four times: \((try? String(contentsOfFile: "\(dir)/log", encoding: .utf8)) ?? "")")
        let waited = started.duration(to: .now)
        #expect(waited >= .seconds(6), "waits of 1, 2 and 4 s between the starts: \(waited)")
        let pid = try #require(Int32((try String(contentsOfFile: "\(dir)/pid", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        process.terminate()
        process.waitUntilExit()
        let log = (try? String(contentsOfFile: "\(dir)/log", encoding: .utf8)) ?? ""
        #expect(log.contains("[supervise] demo: exited (status 134)"), "\(log)")
        for wait in ["in 1s", "in 2s", "in 4s"] { #expect(log.contains(wait), "\(wait): \(log)") }
        #expect(FileManager.default.fileExists(atPath: "\(dir)/stopped"), "the service got SIGTERM")
        #expect(kill(pid, 0) != 0, "and is gone")
    }
}
