import Crypto
import MediaDomain
import NIOCore
import Synchronization

/// The SHA-256 of an original (SPEC §13 `sha256`), taken from the bytes on their way to storage: no second read.
///
/// Why on a task of its own: SHA-256 runs at about 1.4 GB/s here, so a 97 MB upload costs some 70 ms of hashing. In
/// the request's loop that is 70 ms added to an upload that otherwise takes 200 ms; beside it, on the other core, it
/// overlaps with receiving and writing. The request hands each chunk over (a reference, no copy) and goes on; when
/// more than `maxBacklog` bytes wait to be hashed (a starved hashing task), it waits for the backlog to halve, so
/// memory stays bounded whatever the client's speed.
package final class UploadDigest: Sendable {
    private let input: AsyncStream<ByteBuffer>.Continuation
    private let digest: Task<String, Never>
    private let backlog: Backlog

    package init(maxBacklog: Int = 16 << 20) {
        let (chunks, input) = AsyncStream<ByteBuffer>.makeStream()
        let backlog = Backlog(limit: maxBacklog)
        self.input = input
        self.backlog = backlog
        digest = Task {
            var hasher = SHA256()
            for await chunk in chunks {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                backlog.hashed(chunk.readableBytes)
            }
            return Hex.lowercase(hasher.finalize())
        }
    }

    deinit {
        input.finish()  // an upload that failed midway: the hashing task ends with it
    }

    /// Hands `chunk` to the hashing task (in order); waits only while the backlog is over its limit.
    package func update(_ chunk: ByteBuffer) async {
        guard chunk.readableBytes > 0 else { return }
        let over = backlog.add(chunk.readableBytes)
        input.yield(chunk)
        if over { await backlog.waitUntilDrained() }
    }

    /// Lowercase hex, as `sha256sum` prints it, once every chunk handed over is hashed. Call once, after the last
    /// `update`.
    package func finish() async -> String {
        input.finish()
        return await digest.value
    }

    /// Bytes handed over but not hashed yet, and the request waiting for them to drain.
    final class Backlog: Sendable {
        private struct State {
            var pending = 0
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())
        private let limit: Int

        init(limit: Int) { self.limit = max(1, limit) }

        /// Counts `bytes` in; true when the backlog is now over its limit.
        func add(_ bytes: Int) -> Bool {
            state.withLock { s in
                s.pending += bytes
                return s.pending > limit
            }
        }

        func hashed(_ bytes: Int) {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.pending -= bytes
                guard s.pending <= limit / 2, let waiter = s.waiter else { return nil }
                s.waiter = nil
                return waiter
            }
            waiter?.resume()
        }

        func waitUntilDrained() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let drained = state.withLock { s -> Bool in
                    guard s.pending > limit / 2 else { return true }
                    s.waiter = continuation
                    return false
                }
                if drained { continuation.resume() }
            }
        }
    }
}
