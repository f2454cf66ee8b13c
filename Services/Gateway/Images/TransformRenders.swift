import Foundation
import GatewayKit
import Metrics
import Synchronization

/// The renders of one Gateway (SPEC §12): one render per variant however many ask for it at once (single flight:
/// later requesters wait for the first one's result), and at most `concurrency` renders at a time. A render that
/// cannot start within `wait` is refused with 503 `busy` and `Retry-After`, to every requester of that variant.
package final class TransformRenders: Sendable {
    private struct State {
        var inFlight: [String: Task<Void, any Error>] = [:]
        var available: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>
    package let concurrency: Int
    package let wait: Duration

    package init(concurrency: Int, wait: Duration = .seconds(10)) {
        self.concurrency = max(1, concurrency)
        self.wait = wait
        state = Mutex(State(available: max(1, concurrency)))
    }

    /// Runs `render` for `key` unless a render of `key` is under way, in which case waits for that one; either way
    /// returns when the variant is stored (or throws what the render threw).
    package func once(_ key: String, _ render: @escaping @Sendable () async throws -> Void) async throws {
        let task = state.withLock { s -> Task<Void, any Error> in
            if let running = s.inFlight[key] { return running }
            let task = Task<Void, any Error> {
                defer { self.finished(key) }
                try await self.withSlot(render)
            }
            s.inFlight[key] = task
            return task
        }
        try await task.value
    }

    private func finished(_ key: String) {
        _ = state.withLock { $0.inFlight.removeValue(forKey: key) }
    }

    /// `body` once one of the `concurrency` slots is free, waiting at most `wait` for it.
    private func withSlot(_ body: @Sendable () async throws -> Void) async throws {
        guard await acquire() else {
            Counter(label: "mediaflow_transform_busy_total").increment()
            throw APIError(.serviceUnavailable, code: "busy",
                           detail: "Every render slot stayed taken for \(wait.components.seconds) s; try again shortly.",
                           headers: [.retryAfter: "2"])
        }
        defer { release() }
        try await body()
    }

    private func acquire() async -> Bool {
        let waiting = Gauge(label: "mediaflow_transform_waiting")
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id: UInt64? = state.withLock { s in
                if s.available > 0 {
                    s.available -= 1
                    return nil
                }
                s.nextWaiter += 1
                s.waiters.append((s.nextWaiter, continuation))
                waiting.record(s.waiters.count)
                return s.nextWaiter
            }
            guard let id else { return continuation.resume(returning: true) }
            // Gives up on the slot after `wait` unless `release` handed it over first (then this finds nothing).
            Task { [wait] in
                try? await Task.sleep(for: wait)
                let expired = self.state.withLock { s -> CheckedContinuation<Bool, Never>? in
                    guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    defer { waiting.record(s.waiters.count - 1) }
                    return s.waiters.remove(at: index).continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard !s.waiters.isEmpty else {
                s.available += 1
                return nil
            }
            let next = s.waiters.removeFirst().continuation
            Gauge(label: "mediaflow_transform_waiting").record(s.waiters.count)
            return next
        }
        next?.resume(returning: true)
    }
}
