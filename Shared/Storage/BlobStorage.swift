import Foundation
import NIOCore

/// Where originals and renditions live: local disk by default, or an S3-compatible bucket (`S3Storage`). Keys are relative paths (`media/<folder>/original.jpg`) made by the platform, never by clients.
public protocol BlobStorage: Sendable {
    /// Opens a streamed write. Nothing is visible under `key` until `commit()`; `abort()` leaves nothing behind.
    func makeWriter(key: String) async throws -> any BlobWriter
    /// Size and modification time of a stored blob; nil when there is none.
    func info(key: String) async throws -> BlobInfo?
    /// Reads `range` (all when nil) in chunks of at most `chunkSize` bytes, handing each to `body`.
    func read(
        key: String, range: Range<Int64>?, chunkSize: Int,
        _ body: (ByteBuffer) async throws -> Void
    ) async throws
    /// Removes one blob; removing a missing blob is not an error.
    func delete(key: String) async throws
    /// Removes every blob whose key starts with `prefix` (a media's folder).
    func deletePrefix(_ prefix: String) async throws
    /// Keys that start with `prefix` (a media's folder: small).
    func list(prefix: String) async throws -> [String]
    /// A listing that may be huge (the whole store), handed to `body` a page of at most `pageSize` blobs at a time:
    /// every blob whose key starts with `prefix`, each once, in no promised order. Only a page is held in memory,
    /// and the walk goes on where it stopped (a blob added or removed meanwhile may or may not be listed).
    func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws
    /// A time-limited URL that serves the blob straight from the store (S3's presigned GET); nil when the store has
    /// no such URLs (local disk), and then the Gateway serves the file itself.
    func presignedURL(key: String, expires: Int) -> String?
    /// Removes what writes that were never committed left behind, when older than `cutoff` (a crashed process's
    /// temp files; abandoned multipart uploads on S3). With `dryRun` only counts. Returns how many.
    func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int
    /// Gives `body` a local file path holding the blob (the file itself on local disk, a temp copy elsewhere),
    /// for libraries that read files (libvips, libav).
    func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T
    /// Stores the contents of a local file under `key` (atomically).
    func store(key: String, contentsOf path: String) async throws
    /// Throws when the store cannot be used right now (`/readyz`): the folder is gone, the bucket does not answer.
    func checkReachable() async throws
}

extension BlobStorage {
    public func checkReachable() async throws {}
}

/// A streamed write in progress.
public protocol BlobWriter: Sendable {
    func write(_ buffer: ByteBuffer) async throws
    /// Bytes written so far.
    var bytesWritten: Int64 { get async }
    /// Makes the blob visible under its key, atomically.
    func commit() async throws
    /// Drops what was written.
    func abort() async
}

/// A blob as a listing shows it.
public struct BlobListing: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var modified: Date
    public init(key: String, size: Int64, modified: Date) {
        self.key = key
        self.size = size
        self.modified = modified
    }
}

public struct BlobInfo: Sendable, Equatable {
    public var size: Int64
    public var modified: Date
    public init(size: Int64, modified: Date) {
        self.size = size
        self.modified = modified
    }
}

extension BlobStorage {
    /// Stores a whole buffer (small files: renditions, fixtures).
    public func put(key: String, bytes: [UInt8]) async throws {
        let writer = try await makeWriter(key: key)
        do {
            try await writer.write(ByteBuffer(bytes: bytes))
            try await writer.commit()
        } catch {
            await writer.abort()
            throw error
        }
    }

    /// Reads a whole blob into memory (small files and tests only).
    public func get(key: String) async throws -> [UInt8] {
        var result: [UInt8] = []
        try await read(key: key, range: nil, chunkSize: 1 << 20) { result.append(contentsOf: $0.readableBytesView) }
        return result
    }
}

/// What went wrong in storage. Transient errors (`ioFailed`) are retried by the caller; `notFound` and
/// `invalidKey` are not.
public struct StorageError: Error, CustomStringConvertible, Equatable {
    private enum Code: Equatable { case notFound, invalidKey, ioFailed, invalidConfiguration }
    private let code: Code
    public let message: String

    public static func notFound(_ key: String) -> StorageError { .init(code: .notFound, message: "no blob \(key)") }
    public static func invalidKey(_ key: String) -> StorageError { .init(code: .invalidKey, message: "invalid key \(key)") }
    public static func ioFailed(_ message: String) -> StorageError { .init(code: .ioFailed, message: message) }
    /// The storage's configuration cannot work (a bad `MEDIA_STORAGE`, missing credentials).
    public static func invalidConfiguration(_ message: String) -> StorageError {
        .init(code: .invalidConfiguration, message: message)
    }

    public var isNotFound: Bool { code == .notFound }
    public var description: String { "storage: \(message)" }
}

/// The only keys storage accepts: relative, no `..`, no hidden components, a safe alphabet. Requests for
/// `/media/<key>` pass through this before any path is built, so a client can never reach outside the root.
public enum StorageKey {
    public static func isValid(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= 512, !key.hasPrefix("/") else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/")
        guard key.allSatisfy({ allowed.contains($0) }) else { return false }
        return key.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && !$0.hasPrefix(".")
        }
    }

    public static func validate(_ key: String) throws {
        guard isValid(key) else { throw StorageError.invalidKey(key) }
    }
}
