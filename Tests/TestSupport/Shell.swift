import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs `/bin/sh -c command` on a detached thread and returns its exit status.
///
/// Foundation's `Process.waitUntilExit` was seen to hang here when the child is a server control script
/// (it spins the run loop of a thread that has none); `posix_spawn` + `waitpid` on a thread of our own
/// never touches the cooperative pool and never hangs.
public func runShell(_ command: String) async -> Int32 {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: runShellBlocking(command))
        }
    }
}

func runShellBlocking(_ command: String) -> Int32 {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
    defer { for arg in argv { free(arg) } }
    guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return (status >> 8) & 0xff
}

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
public func eventually(
    timeout: Duration = .seconds(30), interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Runs `executable` with `arguments` (and `environment` added to this process's) and returns its exit status and
/// everything it wrote to stdout and stderr. For the scripts and tools tests drive (Python checks, `--help`).
public func runCapturing(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
