import Logging
import Persistence
import Synchronization

/// When transform variants were last fetched (for `MEDIA_VARIANT_RETENTION`), kept without a write per request: each
/// fetch notes its key here, and at most once per `interval` the keys noted since go to the ledger in one statement.
/// A Gateway that dies loses at most that interval's notes: a variant then looks a minute older than it is.
package final class VariantFetchLog: Sendable {
    private struct State {
        var pending = Set<String>()
        var lastFlush = ContinuousClock.now
        var flushing = false
    }

    private let state = Mutex(State())
    private let store: any VariantStore
    private let interval: Duration
    private let logger: Logger

    package init(store: any VariantStore, interval: Duration = .seconds(60), logger: Logger = Logger(label: "mediaflow.gateway.variants")) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Notes a fetch of `key`; starts a flush when the last one is older than the interval.
    package func note(_ key: String) {
        let batch = state.withLock { s -> [String]? in
            s.pending.insert(key)
            guard !s.flushing, s.lastFlush.duration(to: .now) >= interval else { return nil }
            s.flushing = true
            s.lastFlush = .now
            defer { s.pending.removeAll(keepingCapacity: true) }
            return Array(s.pending)
        }
        guard let batch else { return }
        Task { await self.write(batch) }
    }

    /// Writes what is noted now (tests, and a Gateway on its way down).
    package func flush() async {
        let batch = state.withLock { s -> [String] in
            defer { s.pending.removeAll(keepingCapacity: true); s.lastFlush = .now }
            return Array(s.pending)
        }
        await write(batch)
    }

    private func write(_ keys: [String]) async {
        defer { state.withLock { $0.flushing = false } }
        guard !keys.isEmpty else { return }
        do {
            try await store.markFetched(keys: keys)
        } catch {
            logger.warning("variant fetch times not written; those variants may expire a little early", metadata: [
                "variants": "\(keys.count)", "error": "\(error)",
            ])
        }
    }
}
