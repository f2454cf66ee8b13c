import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A process the tests start (a service, a tool, a script), with a clean signal state.
///
/// Why not Foundation's `Process`: a child inherits the signal mask of the thread that spawns it, and the threads the
/// test runner's code runs on block almost every signal (seen here: `SigBlk: fffffffe3bfbea27`, SIGTERM and SIGCHLD
/// among them). A child started from there cannot be stopped with SIGTERM (a Python receiver outlived its test run),
/// and a shell script in it waits forever for its own children (`wait` never returns without SIGCHLD): a test then
/// hangs with no error. Here every child starts with an empty mask and default dispositions, as from a shell.
public final class ChildProcess: @unchecked Sendable {
    /// Where a child's output goes.
    public enum Output: Sendable {
        case inherit
        case discard
        /// Appended to this file (created when missing).
        case file(String)
        /// The write end of a pipe (`ChildProcess.pipe()`), closed here once the child has it.
        case descriptor(Int32)
    }

    public let processIdentifier: pid_t
    private let exit = Mutex<(status: Int32, signal: Int32)?>(nil)

    /// Starts `executable` (a path) with `arguments`, in `environment` (this process's when nil).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        output: Output = .inherit, error: Output? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        func route(_ output: Output, to fd: Int32) {
            switch output {
            case .inherit: break
            case .discard: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
            }
        }
        route(output, to: 1)
        route(error ?? output, to: 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for entry in env { free(entry) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, env)
        for case .descriptor(let fd) in [output, error ?? output] { Glibc.close(fd) }
        guard spawned == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT, userInfo: [NSLocalizedDescriptionKey: "spawn \(executable)"])
        }
        processIdentifier = pid
    }

    /// A pipe for `Output.descriptor`: (read end, write end).
    public static func pipe() -> (read: FileHandle, write: Int32) {
        var fds: [Int32] = [0, 0]
        _ = Glibc.pipe(&fds)
        return (FileHandle(fileDescriptor: fds[0], closeOnDealloc: true), fds[1])
    }

    /// Whether it still runs (an exit is collected here when it happened).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Blocks until the child has exited.
    public func waitUntilExit() { _ = reap(blocking: true) }

    /// Waits (off Swift's cooperative threads) until the child has exited.
    public func exited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }

    /// Its exit status (valid once it exited).
    public var terminationStatus: Int32 {
        guard let exit = reap(blocking: false) else { return -1 }
        return exit.signal != 0 ? exit.signal : exit.status
    }

    /// Whether it ended by a signal (the signal is then `terminationStatus`).
    public var endedBySignal: Bool { (reap(blocking: false)?.signal ?? 0) != 0 }

    public func terminate() { kill(processIdentifier, SIGTERM) }

    public func send(_ signal: Int32) { kill(processIdentifier, signal) }

    private func reap(blocking: Bool) -> (status: Int32, signal: Int32)? {
        if let known = exit.withLock({ $0 }) { return known }
        var status: Int32 = 0
        var result: pid_t
        repeat {
            result = waitpid(processIdentifier, &status, blocking ? 0 : WNOHANG)
        } while result == -1 && errno == EINTR
        guard result == processIdentifier else {
            // Reaped elsewhere (or never ours): it is not running.
            if result == -1 { return exit.withLock { $0 } ?? (status: -1, signal: 0) }
            return nil
        }
        let signal = status & 0x7F
        let outcome: (status: Int32, signal: Int32) = signal == 0 ? ((status >> 8) & 0xFF, 0) : (0, signal)
        exit.withLock { $0 = outcome }
        return outcome
    }
}
