import Foundation
import Synchronization

/// Commands from async code to the one thread that owns a rabbitmq-c connection.
///
/// rabbitmq-c is blocking and not thread-safe, so each connection lives on a dedicated `Thread` (never on
/// Swift's cooperative pool) and everything else talks to it through this queue.
final class CommandQueue<Command: Sendable>: @unchecked Sendable {
    // @unchecked: every stored property is only touched while `condition` is locked.
    private let condition = NSCondition()
    private var commands: [Command] = []
    private var stopping = false
    private var closed = false

    /// Queues a command; false once the owning thread has closed the queue (the caller fails the command).
    func push(_ command: Command) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        commands.append(command)
        condition.signal()
        return true
    }

    /// Asks the owning thread to stop; it still executes the commands queued before it notices.
    func requestStop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Takes every queued command, waiting up to `timeout` seconds for one when the queue is empty.
    func takeAll(waitingUpTo timeout: Double = 0) -> (commands: [Command], stopping: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if commands.isEmpty, !stopping, timeout > 0 {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        }
        let taken = commands
        commands.removeAll(keepingCapacity: true)
        return (taken, stopping)
    }

    /// Called by the owning thread when it exits: later pushes fail; returns what was still queued.
    func close() -> [Command] {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        stopping = true
        let left = commands
        commands.removeAll()
        return left
    }
}

/// Fires once; any number of tasks can wait for it.
final class ExitSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// Starts a named thread running `body`.
func startConnectionThread(name: String, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.name = name
    thread.start()
}
