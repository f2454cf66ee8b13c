import Foundation
import NIOCore
import Synchronization

/// Small stored variants kept in memory, so a popular variant is answered without a trip to storage (SPEC §12's
/// cached-variant row: ten thousand requests a second). Safe to keep: a variant's key never changes content (a
/// reprocess writes another generation's keys), and every request still looks its media up first, so a deleted or
/// reprocessed media's variant is never served from here. Bounded by bytes; the least recently used go first.
package final class VariantMemoryCache: Sendable {
    package struct Entry: Sendable {
        package let body: ByteBuffer
        /// The ETag storage would give (size and modification time), so a client revalidates across Gateways.
        package let etag: String
        package let contentType: String
    }

    private struct State {
        var entries: [String: (entry: Entry, used: UInt64)] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())
    package let capacityBytes: Int
    /// Larger variants are streamed from storage every time.
    package let maxEntryBytes: Int

    package init(capacityBytes: Int = 64 << 20, maxEntryBytes: Int = 512 << 10) {
        self.capacityBytes = capacityBytes
        self.maxEntryBytes = maxEntryBytes
    }

    package func get(_ key: String) -> Entry? {
        state.withLock { s in
            guard let found = s.entries[key] else { return nil }
            s.clock += 1
            s.entries[key]?.used = s.clock
            return found.entry
        }
    }

    package func put(_ key: String, _ entry: Entry) {
        guard entry.body.readableBytes <= maxEntryBytes else { return }
        state.withLock { s in
            s.clock += 1
            if let old = s.entries.updateValue((entry, s.clock), forKey: key) { s.bytes -= old.entry.body.readableBytes }
            s.bytes += entry.body.readableBytes
            while s.bytes > capacityBytes, let oldest = s.entries.min(by: { $0.value.used < $1.value.used }) {
                s.entries[oldest.key] = nil
                s.bytes -= oldest.value.entry.body.readableBytes
            }
        }
    }
}
