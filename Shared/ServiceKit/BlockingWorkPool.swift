import NIOPosix
import Synchronization

/// Threads for blocking C work (libvips, libav): Swift's cooperative pool has only as many threads as cores (2 here),
/// and a decode there would stall every HTTP response and heartbeat of the process.
///
/// One mechanism for blocking work in the whole product (issue 27, the house): NIO's `NIOThreadPool`. File I/O of the
/// storage runs on the shared `NIOThreadPool.singleton`; processing runs on a pool of its own (this one), sized to the
/// service's concurrency, so a long transcode never holds up a file read. (The threads that own a rabbitmq-c
/// connection are no work pool: each lives as long as its connection, see Messaging's `ConnectionThread`.)
public final class BlockingWorkPool: Sendable {
    private let pool: NIOThreadPool
    public let threadCount: Int

    /// `name` is for the reader of this code and of logs; NIO names its threads itself.
    public init(threads: Int, name: String) {
        threadCount = max(1, threads)
        pool = NIOThreadPool(numberOfThreads: threadCount)
        pool.start()
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
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
        pool.shutdownGracefully { _ in }
    }
}

/// A flag raised from a task's cancellation handler and polled by blocking work on another thread.
private final class CancellationFlag: Sendable {
    private let raised = Atomic(false)

    var isRaised: Bool { raised.load(ordering: .relaxed) }

    func raise() { raised.store(true, ordering: .relaxed) }
}
