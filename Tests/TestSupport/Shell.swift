import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs `/bin/sh -c command` on a detached thread and returns its exit status.
///
/// The shell is a `ChildProcess` (an empty signal mask: a server control script's `wait` returns) waited for on a
/// thread of our own, never on the cooperative pool.
public func runShell(_ command: String) async -> Int32 {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: runShellBlocking(command))
        }
    }
}

func runShellBlocking(_ command: String) -> Int32 {
    guard let shell = try? ChildProcess("/bin/sh", ["-c", command]) else { return -1 }
    shell.waitUntilExit()
    return shell.terminationStatus
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

/// Runs `executable` with `arguments` (and `environment` added to this process's, or alone) and returns its exit
/// status and everything it wrote to stdout and stderr. For the scripts and tools tests drive (Python checks,
/// `--help`, mediactl). Started as `ChildProcess` does, with a clean signal state.
public func runCapturing(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], inheritEnvironment: Bool = true
) throws -> (status: Int32, output: String) {
    let (read, write) = ChildProcess.pipe()
    let env = inheritEnvironment ? ProcessInfo.processInfo.environment.merging(environment) { $1 } : environment
    let process = try ChildProcess(executable, arguments, environment: env, output: .descriptor(write))
    let output = String(decoding: read.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
