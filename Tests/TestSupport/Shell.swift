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
