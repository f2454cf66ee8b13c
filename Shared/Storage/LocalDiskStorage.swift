import Foundation
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files under a root directory. Writes go to `<root>/.tmp/` and are renamed into place, so a key
/// only ever names a complete file; blocking file I/O runs on NIO's thread pool, never on the cooperative pool.
public struct LocalDiskStorage: BlobStorage {
    public let root: String
    let threadPool: NIOThreadPool
    /// Says when cleaning up a temp file failed (the only failures no caller sees).
    let logger: Logger

    public init(root: String, threadPool: NIOThreadPool = .singleton, logger: Logger = Logger(label: "mediaflow.storage")) throws {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
        self.threadPool = threadPool
        self.logger = logger
        try FileManager.default.createDirectory(atPath: self.root + "/.tmp", withIntermediateDirectories: true)
    }

    /// The folder is still there and writable (a lost mount, a full or read-only disk show here).
    public func checkReachable() async throws {
        let tmp = root + "/.tmp"
        try await threadPool.runIfActive {
            guard access(tmp, W_OK) == 0 else {
                throw StorageError.ioFailed("storage folder \(tmp): \(String(cString: strerror(errno)))")
            }
        }
    }

    func path(_ key: String) throws -> String {
        try StorageKey.validate(key)
        return "\(root)/\(key)"
    }

    public func makeWriter(key: String) async throws -> any BlobWriter {
        let final = try path(key)
        let temp = "\(root)/.tmp/\(UUID().uuidString)"
        let fd = try await threadPool.runIfActive {
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw StorageError.ioFailed("open \(temp): \(String(cString: strerror(errno)))") }
            return fd
        }
        return LocalBlobWriter(fd: fd, tempPath: temp, finalPath: final, threadPool: threadPool, logger: logger)
    }

    public func info(key: String) async throws -> BlobInfo? {
        let p = try path(key)
        return try await threadPool.runIfActive {
            var st = stat()
            guard stat(p, &st) == 0 else {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw StorageError.ioFailed("stat \(p): \(String(cString: strerror(errno)))")
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            let modified = Date(
                timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
            return BlobInfo(size: Int64(st.st_size), modified: modified)
        }
    }

    public func read(
        key: String, range: Range<Int64>?, chunkSize: Int, _ body: (ByteBuffer) async throws -> Void
    ) async throws {
        let p = try path(key)
        let fd = try await threadPool.runIfActive {
            let fd = open(p, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ENOENT { throw StorageError.notFound(key) }
                throw StorageError.ioFailed("open \(p): \(String(cString: strerror(errno)))")
            }
            return fd
        }
        defer { close(fd) }
        var offset = range?.lowerBound ?? 0
        let end = range?.upperBound ?? Int64.max
        while offset < end {
            let want = Int(min(Int64(chunkSize), end - offset))
            let buffer = try await threadPool.runIfActive { [offset] in
                var buffer = ByteBufferAllocator().buffer(capacity: want)
                var failure: Int32 = 0
                _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { ptr in
                    while true {
                        let r = pread(fd, ptr.baseAddress, want, off_t(offset))
                        if r >= 0 { return r }
                        if errno != EINTR { failure = errno; return 0 }
                    }
                }
                guard failure == 0 else {
                    throw StorageError.ioFailed("read \(p) at \(offset): \(String(cString: strerror(failure)))")
                }
                return buffer
            }
            if buffer.readableBytes == 0 {
                // The end of the file. Reading to the end (no range) stops here; a range that names bytes the
                // file no longer has is a failure, never a silently shorter answer.
                guard range == nil else {
                    throw StorageError.ioFailed("read \(p): the file ends at \(offset), before \(end)")
                }
                break
            }
            offset += Int64(buffer.readableBytes)
            try await body(buffer)
        }
    }

    public func delete(key: String) async throws {
        let p = try path(key)
        let root = self.root
        try await threadPool.runIfActive {
            if unlink(p) != 0, errno != ENOENT {
                throw StorageError.ioFailed("unlink \(p): \(String(cString: strerror(errno)))")
            }
            // Folders left empty go too (a media's folder after its last file); a folder still in use stays, as
            // rmdir refuses a non-empty one.
            var parent = (p as NSString).deletingLastPathComponent
            while parent.count > root.count, parent.hasPrefix(root + "/"), rmdir(parent) == 0 {
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
    }

    public func deletePrefix(_ prefix: String) async throws {
        for key in try await list(prefix: prefix) { try await delete(key: key) }
        // Remove the folders the prefix named, deepest first, when they are now empty.
        let dir = "\(root)/\(prefix)"
        try await threadPool.runIfActive {
            let fm = FileManager.default
            guard prefix.hasSuffix("/"), StorageKey.isValid(String(prefix.dropLast())),
                  let subpaths = fm.subpaths(atPath: dir)
            else { return }
            for sub in subpaths.sorted(by: { $0.count > $1.count }) { rmdir("\(dir)/\(sub)") }
            rmdir(dir)
        }
    }

    public func list(prefix: String) async throws -> [String] {
        let root = self.root
        return try await threadPool.runIfActive {
            // Walk only the folder the prefix lies in, not the whole tree.
            let folder = prefix.contains("/") ? String(prefix[...(prefix.lastIndex(of: "/") ?? prefix.startIndex)]) : ""
            let base = folder.isEmpty ? root : "\(root)/\(folder)"
            guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
            var keys: [String] = []
            while let sub = enumerator.nextObject() as? String {
                let key = folder + sub
                guard key.hasPrefix(prefix), !key.hasPrefix(".tmp") else { continue }
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(base)/\(sub)", isDirectory: &isDir), !isDir.boolValue {
                    keys.append(key)
                }
            }
            return keys.sorted()
        }
    }

    public func listPages(prefix: String, pageSize: Int, _ body: ([BlobListing]) async throws -> Void) async throws {
        let walker = DirectoryWalker(root: root, prefix: prefix)
        while true {
            let page = try await threadPool.runIfActive { try walker.next(limit: max(1, pageSize)) }
            guard !page.isEmpty else { return }
            try await body(page)
        }
    }

    /// A directory entry's name (`d_name` is a fixed-size C array).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            guard let base = raw.baseAddress else { return "" }
            return String(cString: base.assumingMemoryBound(to: CChar.self))
        }
    }

    public func presignedURL(key: String, expires: Int) -> String? { nil }

    public func sweepAbandonedWrites(olderThan cutoff: Date, dryRun: Bool) async throws -> Int {
        let temp = root + "/.tmp"
        let logger = self.logger
        return try await threadPool.runIfActive {
            guard let dir = opendir(temp) else { return 0 }
            defer { closedir(dir) }
            var count = 0
            while let entry = readdir(dir) {
                let name = Self.name(of: entry)
                guard name != ".", name != "..", !name.isEmpty else { continue }
                var st = stat()
                guard stat("\(temp)/\(name)", &st) == 0,
                      Double(st.st_mtim.tv_sec) < cutoff.timeIntervalSince1970
                else { continue }
                count += 1
                if !dryRun { Self.removeTemp("\(temp)/\(name)", logger: logger) }
            }
            return count
        }
    }

    public func withLocalFile<T: Sendable>(key: String, _ body: (String) async throws -> T) async throws -> T {
        let p = try path(key)
        guard try await info(key: key) != nil else { throw StorageError.notFound(key) }
        return try await body(p)
    }

    public func store(key: String, contentsOf source: String) async throws {
        let final = try path(key)
        let temp = "\(root)/.tmp/\(UUID().uuidString)"
        try await threadPool.runIfActive {
            let fm = FileManager.default
            do {
                try fm.copyItem(atPath: source, toPath: temp)
                try Self.moveIntoPlace(temp, final)
            } catch {
                Self.removeTemp(temp, logger: logger)
                throw StorageError.ioFailed("store \(key): \(error)")
            }
        }
    }

    /// Removes a temp file that will never be committed; says so when that fails (it stays under `.tmp/`).
    static func removeTemp(_ path: String, logger: Logger) {
        if unlink(path) != 0, errno != ENOENT {
            logger.warning("temp file not removed", metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
    }

    static func moveIntoPlace(_ temp: String, _ final: String) throws {
        let parent = (final as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        guard rename(temp, final) == 0 else {
            throw StorageError.ioFailed("rename to \(final): \(String(cString: strerror(errno)))")
        }
    }
}

/// A streamed write to a temp file. Chunks are gathered (not copied) and written with one `writev` per
/// megabyte on NIO's thread pool. One write is in flight while the next megabyte gathers: the caller (an
/// upload reading its request body) never waits for the disk unless the disk falls a whole batch behind,
/// so reading the socket and writing the file overlap. At most two batches are held in memory.
actor LocalBlobWriter: BlobWriter {
    private let fd: Int32
    private let tempPath: String
    private let finalPath: String
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var inFlight: Task<Void, any Error>?
    private var closed = false
    private(set) var bytesWritten: Int64 = 0
    private static let batchBytes = 1 << 20

    init(fd: Int32, tempPath: String, finalPath: String, threadPool: NIOThreadPool, logger: Logger) {
        self.fd = fd
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.threadPool = threadPool
        self.logger = logger
    }

    func write(_ buffer: ByteBuffer) async throws {
        guard !closed else { throw StorageError.ioFailed("write after close") }
        guard buffer.readableBytes > 0 else { return }
        bytesWritten += Int64(buffer.readableBytes)
        pending.append(buffer)
        pendingBytes += buffer.readableBytes
        if pendingBytes >= Self.batchBytes { try await startFlush() }
    }

    /// Waits for the write in flight (surfacing its error), then starts writing what gathered since.
    private func startFlush() async throws {
        try await inFlight?.value
        inFlight = nil
        let buffers = pending
        pending = []
        pendingBytes = 0
        guard !buffers.isEmpty else { return }
        let (fd, pool) = (self.fd, threadPool)
        inFlight = Task {
            try await pool.runIfActive { try Self.writeAll(fd: fd, buffers) }
        }
    }

    /// `writev` until every byte of `buffers` is written (short writes and EINTR are retried).
    private static func writeAll(fd: Int32, _ buffers: [ByteBuffer]) throws {
        var remaining = buffers
        while !remaining.isEmpty {
            // At most IOV_MAX (1024 on Linux) vectors per call; the loop writes the rest.
            let written: Int = withIOVecs(remaining[...]) { iovecs in
                Glibc.writev(fd, iovecs.baseAddress, Int32(min(iovecs.count, 1024)))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw StorageError.ioFailed("write: \(String(cString: strerror(errno)))")
            }
            var skip = written
            while skip > 0, !remaining.isEmpty {
                if remaining[0].readableBytes <= skip {
                    skip -= remaining[0].readableBytes
                    remaining.removeFirst()
                } else {
                    remaining[0].moveReaderIndex(forwardBy: skip)
                    skip = 0
                }
            }
        }
    }

    /// Builds iovecs pointing into `buffers` for the duration of `body`.
    private static func withIOVecs<R>(_ buffers: ArraySlice<ByteBuffer>, _ body: (UnsafeMutableBufferPointer<iovec>) -> R) -> R {
        guard let first = buffers.first else {
            return body(UnsafeMutableBufferPointer(start: nil, count: 0))
        }
        return first.withUnsafeReadableBytes { bytes in
            let iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
            return withIOVecs(buffers.dropFirst()) { rest in
                // Recursion keeps every buffer's pointer valid; gather them in order.
                var all = [iov] + Array(rest)  // mutable: the buffer pointer API wants inout
                return all.withUnsafeMutableBufferPointer { body($0) }
            }
        }
    }

    func commit() async throws {
        guard !closed else { throw StorageError.ioFailed("commit after close") }
        do {
            try await startFlush()
            try await inFlight?.value
        } catch {
            await abort()
            throw error
        }
        inFlight = nil
        closed = true
        let (fd, temp, final, logger) = (self.fd, tempPath, finalPath, logger)
        try await threadPool.runIfActive {
            guard close(fd) == 0 else {
                // A close that fails can mean the last bytes never reached the disk: the blob is not trustworthy.
                let reason = String(cString: strerror(errno))
                LocalDiskStorage.removeTemp(temp, logger: logger)
                throw StorageError.ioFailed("close \(temp): \(reason)")
            }
            do {
                try LocalDiskStorage.moveIntoPlace(temp, final)
            } catch {
                LocalDiskStorage.removeTemp(temp, logger: logger)
                throw error
            }
        }
    }

    func abort() async {
        guard !closed else { return }
        closed = true
        pending = []
        // Never close the descriptor under a running write. Its error is moot: the blob is being dropped.
        _ = try? await inFlight?.value
        inFlight = nil
        close(fd)
        LocalDiskStorage.removeTemp(tempPath, logger: logger)
    }
}

/// A depth-first walk of the tree under `root` that stops after each page and goes on from there: it holds an open
/// directory stream per level of the path it is on, never a directory's whole listing, so a page costs a page's
/// work however many media there are. `@unchecked Sendable`: its state is used by one thread-pool call at a time
/// (the pages are asked for one after the other), and the streams are closed when it is done or released.
final class DirectoryWalker: @unchecked Sendable {
    private let root: String
    private let prefix: String
    /// The open directories of the current path: their stream and their key (relative to the root, "" for the root).
    private var stack: [(stream: OpaquePointer, key: String)] = []
    private var started = false

    init(root: String, prefix: String) {
        self.root = root
        self.prefix = prefix
    }

    deinit {
        for level in stack { closedir(level.stream) }
    }

    /// The next blobs, up to `limit`; empty at the end.
    func next(limit: Int) throws -> [BlobListing] {
        if !started {
            started = true
            try enter("")
        }
        var page: [BlobListing] = []
        while page.count < limit, let (stream, directory) = stack.last {
            guard let entry = readdir(stream) else {
                closedir(stream)
                stack.removeLast()
                continue
            }
            let name = LocalDiskStorage.name(of: entry)
            guard !name.isEmpty, !name.hasPrefix(".") else { continue }  // `.`, `..` and `.tmp` (uncommitted writes)
            let key = directory.isEmpty ? name : "\(directory)/\(name)"
            var st = stat()
            guard stat("\(root)/\(key)", &st) == 0 else { continue }  // removed meanwhile
            if (st.st_mode & S_IFMT) == S_IFDIR {
                // Only into directories that can hold keys of the prefix.
                if (key + "/").hasPrefix(prefix) || prefix.hasPrefix(key + "/") { try enter(key) }
            } else if (st.st_mode & S_IFMT) == S_IFREG, key.hasPrefix(prefix) {
                page.append(BlobListing(
                    key: key, size: Int64(st.st_size),
                    modified: Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)))
            }
        }
        return page
    }

    private func enter(_ key: String) throws {
        let path = key.isEmpty ? root : "\(root)/\(key)"
        guard let stream = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return }
            throw StorageError.ioFailed("opendir \(path): \(String(cString: strerror(errno)))")
        }
        stack.append((stream, key))
    }
}
