import Foundation
import Synchronization

/// A few dedicated threads for blocking C work (libvips, libav). Swift's cooperative pool has only as many
/// threads as cores (2 here): a decode there would stall every HTTP response and heartbeat of the process.
public final class BlockingWorkPool: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let condition = NSCondition()
    public let threadCount: Int

    public init(threads: Int, name: String) {
        threadCount = max(1, threads)
        for i in 0..<threadCount {
            let thread = Thread { [self] in self.loop() }
            thread.name = "\(name)-\(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func loop() {
        while true {
            condition.lock()
            var job: (@Sendable () -> Void)?
            while job == nil {
                let (next, stopped) = state.withLock { s -> ((@Sendable () -> Void)?, Bool) in
                    s.queue.isEmpty ? (nil, s.stopped) : (s.queue.removeFirst(), false)
                }
                if let next { job = next } else if stopped { condition.unlock(); return } else { condition.wait() }
            }
            condition.unlock()
            job?()
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = state.withLock { s -> Bool in
                guard !s.stopped else { return false }
                s.queue.append { continuation.resume(with: Result { try work() }) }
                return true
            }
            guard accepted else {
                continuation.resume(throwing: ConfigurationError("blocking work pool is shut down"))
                return
            }
            condition.lock()
            condition.signal()
            condition.unlock()
        }
    }

    /// Runs `work` on one of the pool's threads; `isCancelled` turns true once the calling task is cancelled
    /// (the worker's job timeout, shutdown), so long C work polling it can stop and free the thread.
    public func runCancellable<T: Sendable>(
        _ work: @escaping @Sendable (_ isCancelled: @escaping @Sendable () -> Bool) throws -> T
    ) async throws -> T {
        let raised = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await run { try work { raised.isRaised } }
        } onCancel: {
            raised.raise()
        }
    }

    /// Lets the threads finish queued work and exit.
    public func shutdown() {
        state.withLock { $0.stopped = true }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }
}

/// A flag raised from a task's cancellation handler and polled by blocking work on another thread.
private final class CancellationFlag: Sendable {
    private let raised = Atomic(false)

    var isRaised: Bool { raised.load(ordering: .relaxed) }

    func raise() { raised.store(true, ordering: .relaxed) }
}
