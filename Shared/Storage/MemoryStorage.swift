import Foundation
import NIOCore
import Synchronization

/// Blobs in memory, for unit tests. Same rules as local disk: keys validated, writes visible on commit only.
public final class MemoryStorage: BlobStorage {
    private let blobs = Mutex<[String: (bytes: [UInt8], modified: Date)]>([:])

    /// With a base, `presignedURL` answers `<base>/<key>?expires=<seconds>`, standing in for S3's presigned URLs.
    private let presignedBase: String?

    public init(presignedBase: String? = nil) { self.presignedBase = presignedBase }

    /// Every key stored (tests assert that nothing was left behind).
    public var keys: [String] { blobs.withLock { Array($0.keys).sorted() } }

    public func makeWriter(key: String) async throws -> any BlobWriter {
        try StorageKey.validate(key)
        return MemoryBlobWriter { [weak self] bytes in
            self?.blobs.withLock { $0[key] = (bytes, Date()) }
        }
    }

    public func info(key: String) async throws -> BlobInfo? {
        try StorageKey.validate(key)
        return blobs.withLock { $0[key].map { BlobInfo(size: Int64($0.bytes.count), modified: $0.modified) } }
    }

    public func read(
        key: String, range: Range<Int64>?, chunkSize: Int, _ body: (ByteBuffer) async throws -> Void
    ) async throws {
        try StorageKey.validate(key)
        guard let bytes = blobs.withLock({ $0[key]?.bytes }) else { throw StorageError.notFound(key) }
        let lower = Int(range?.lowerBound ?? 0)
        let upper = min(Int(range?.upperBound ?? Int64(bytes.count)), bytes.count)
        var offset = lower
        while offset < upper {
            let end = min(offset + chunkSize, upper)
            try await body(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        // As on disk: a range naming bytes the blob does not have fails rather than ending short.
        if let range, range.upperBound > Int64(bytes.count) {
            throw StorageError.ioFailed("read \(key): the blob ends at \(bytes.count), before \(range.upperBound)")
        }
    }

    public func delete(key: String) async throws {
        try StorageKey.validate(key)
        _ = blobs.withLock { $0.removeValue(forKey: key) }
    }

    public func deletePrefix(_ prefix: String) async throws {
        blobs.withLock { b in for key in b.keys where key.hasPrefix(prefix) { b.removeValue(forKey: key) } }
    }

    public func list(prefix: String) async throws -> [String] {
        blobs.withLock { Array($0.keys.filter { $0.hasPrefix(prefix) }).sorted() }
    }

    public func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws {
        let all = blobs.withLock { b in
            b.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
                .map { BlobListing(key: $0.key, size: Int64($0.value.bytes.count), modified: $0.value.modified) }
        }
        var start = 0
        while start < all.count {
            let end = min(start + max(1, pageSize), all.count)
            try await body(Array(all[start..<end]))
            start = end
        }
    }

    public func presignedURL(key: String, expires: Int) -> String? {
        presignedBase.map { "\($0)/\(key)?expires=\(expires)" }
    }

    public func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int { 0 }

    /// Sets a blob's modification time (tests make blobs "old" this way).
    public func setModified(key: String, to date: Date) {
        blobs.withLock { b in b[key]?.modified = date }
    }

    public func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T {
        let bytes = try await get(key: key)
        let path = NSTemporaryDirectory() + "/mediaflow-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw StorageError.ioFailed("cannot write \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }

    public func store(key: String, contentsOf path: String) async throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StorageError.ioFailed("cannot read \(path)")
        }
        try await put(key: key, bytes: Array(data))
    }
}

actor MemoryBlobWriter: BlobWriter {
    private var buffer: [UInt8] = []
    private var closed = false
    private let onCommit: @Sendable ([UInt8]) -> Void

    init(onCommit: @escaping @Sendable ([UInt8]) -> Void) { self.onCommit = onCommit }

    var bytesWritten: Int64 { Int64(buffer.count) }

    func write(_ chunk: ByteBuffer) async throws {
        guard !closed else { throw StorageError.ioFailed("write after close") }
        buffer.append(contentsOf: chunk.readableBytesView)
    }

    func commit() async throws {
        guard !closed else { throw StorageError.ioFailed("commit after close") }
        closed = true
        onCommit(buffer)
    }

    func abort() async {
        closed = true
        buffer = []
    }
}
