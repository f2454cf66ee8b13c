import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A streamed write to S3: bytes are spooled to a local part file; each full 8 MiB part is uploaded while the next
/// ones fill, up to `S3Storage.partsInFlight` at once (so a few part files on disk, none in memory), and the writer
/// waits for the oldest when that many are on their way: a slow store slows the upload down rather than filling the
/// disk. `commit()` sends the last part and completes the upload, or, for an object under one part, sends it in a
/// single PUT. `abort()` aborts the multipart upload: nothing is left in the bucket.
actor S3MultipartWriter: BlobWriter {
    private let storage: S3Storage
    private let key: String
    private var spool: SpoolFile?
    private var spooled = 0
    private var uploadId: String?
    private var parts: [(number: Int, etag: String)] = []
    /// Parts on their way, oldest first.
    private var inFlight: [Task<(number: Int, etag: String), any Error>] = []
    private var partsStarted = 0
    private var closed = false
    private(set) var bytesWritten: Int64 = 0

    init(storage: S3Storage, key: String) {
        self.storage = storage
        self.key = key
    }

    func write(_ buffer: ByteBuffer) async throws {
        guard !closed else { throw StorageError.ioFailed("write after close") }
        var buffer = buffer
        while buffer.readableBytes > 0 {
            if spool == nil {
                let file = try await SpoolFile.create(Self.spoolPath(), threadPool: storage.threadPool)
                guard !closed else {
                    await file.discard(logger: storage.logger)
                    throw StorageError.ioFailed("write after close")
                }
                spool = file
            }
            let take = min(buffer.readableBytes, S3Storage.partSize - spooled)
            guard let slice = buffer.readSlice(length: take), let spool else { break }
            try await spool.append(slice)
            // An abort that came in while the bytes were on their way ends the write (an actor is reentrant).
            guard !closed else { throw StorageError.ioFailed("write after close") }
            spooled += take
            bytesWritten += Int64(take)
            if spooled == S3Storage.partSize { try await sendFullPart() }
        }
    }

    /// Starts uploading the spooled part (once fewer than `partsInFlight` are on their way); the next bytes go to a
    /// new spool.
    private func sendFullPart() async throws {
        guard let full = spool else { return }
        spool = nil
        spooled = 0
        let id: String
        do {
            // Until its upload task holds it, the part file is this function's to remove.
            try await full.close()
            if let uploadId { id = uploadId } else {
                id = try await storage.createMultipart(key: key)
                uploadId = id
            }
            try await waitForParts(leaving: S3Storage.partsInFlight - 1)
            guard !closed else { throw StorageError.ioFailed("write after close") }
        } catch {
            full.remove(logger: storage.logger)
            throw error
        }
        partsStarted += 1
        let number = partsStarted
        let (storage, key, logger) = (self.storage, self.key, storage.logger)
        inFlight.append(Task {
            defer { full.remove(logger: logger) }
            return (number, try await storage.uploadPart(
                key: key, uploadId: id, number: number, path: full.path, size: S3Storage.partSize, md5: full.contentMD5))
        })
    }

    /// Waits for the oldest parts on their way until at most `count` are left.
    private func waitForParts(leaving count: Int) async throws {
        while inFlight.count > max(0, count) {
            let oldest = inFlight.removeFirst()
            do {
                parts.append(try await oldest.value)
            } catch {
                inFlight.insert(oldest, at: 0)  // abort() still waits for it and cleans up
                throw error
            }
        }
    }

    func commit() async throws {
        guard !closed else { throw StorageError.ioFailed("commit after close") }
        do {
            let last = spool
            try await last?.close()
            if let uploadId {
                if let last, spooled > 0 {
                    defer { last.remove(logger: storage.logger) }
                    partsStarted += 1
                    let number = partsStarted
                    parts.append((number, try await storage.uploadPart(
                        key: key, uploadId: uploadId, number: number, path: last.path, size: spooled, md5: last.contentMD5)))
                }
                try await waitForParts(leaving: 0)
                try await storage.completeMultipart(key: key, uploadId: uploadId, parts: parts.sorted { $0.number < $1.number })
            } else {
                // Under one part: a single PUT (an empty object included).
                let file: SpoolFile
                if let last { file = last } else { file = try await SpoolFile.create(Self.spoolPath(), threadPool: storage.threadPool) }
                defer { file.remove(logger: storage.logger) }
                try await file.close()
                try await storage.putObject(key: key, path: file.path, size: spooled, md5: file.contentMD5)
            }
            spool = nil
            closed = true
        } catch {
            await abort()
            throw error
        }
    }

    func abort() async {
        guard !closed else { return }
        closed = true
        // Parts on their way are let finish (each is a local file and a bounded request), not cancelled: a part the
        // store is still writing when the abort lands can survive it (S3 says to abort again), and moto fails the
        // abort outright. Their outcome is moot: the whole upload goes.
        for part in inFlight { _ = try? await part.value }
        inFlight = []
        await spool?.discard(logger: storage.logger)
        spool = nil
        guard let uploadId else { return }
        do {
            // In a task of its own: an abort is often the answer to a cancellation (the client went away), which
            // must not cancel the request that cleans up after it.
            let (storage, key) = (self.storage, self.key)
            try await Task { try await storage.abortMultipartRetrying(key: key, uploadId: uploadId) }.value
        } catch {
            // Left open in the bucket: the Janitor's orphan sweep aborts it (sweepAbandonedWrites).
            storage.logger.error("multipart upload not aborted; the orphan sweep will", metadata: [
                "key": "\(key)", "upload_id": "\(uploadId)", "error": "\(error)",
            ])
        }
    }

    static func spoolPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mediaflow-s3-part-\(UUID().uuidString)").path
    }
}

/// A local file written in order on NIO's thread pool (a part spool, a download), removed when done. The MD5 of what
/// was written is kept as it goes (`contentMD5`): S3 refuses a part or object whose bytes do not match it, so a part
/// corrupted on its way is never stored.
final class SpoolFile: Sendable {
    let path: String
    private let fd: Int32
    private let threadPool: NIOThreadPool
    private let state = Mutex((offset: Int64(0), closed: false, md5: Insecure.MD5()))

    /// `Content-MD5` of the bytes appended so far (base64 of the digest).
    var contentMD5: String {
        Data(state.withLock { $0.md5 }.finalize()).base64EncodedString()
    }

    private init(path: String, fd: Int32, threadPool: NIOThreadPool) {
        self.path = path
        self.fd = fd
        self.threadPool = threadPool
    }

    static func create(_ path: String, threadPool: NIOThreadPool) async throws -> SpoolFile {
        let fd = try await threadPool.runIfActive {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw StorageError.ioFailed("open \(path): \(String(cString: strerror(errno)))") }
            return fd
        }
        return SpoolFile(path: path, fd: fd, threadPool: threadPool)
    }

    func append(_ buffer: ByteBuffer) async throws {
        let offset = state.withLock { $0.offset }
        let (fd, path) = (self.fd, self.path)
        let written = try await threadPool.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes -> Int in
                var done = 0
                while done < bytes.count {
                    let n = pwrite(fd, bytes.baseAddress.map { $0 + done }, bytes.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw StorageError.ioFailed("write \(path): \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
                return done
            }
        }
        state.withLock { state in
            state.offset += Int64(written)
            buffer.withUnsafeReadableBytes { state.md5.update(bufferPointer: $0) }
        }
    }

    func close() async throws {
        let wasClosed = state.withLock { s -> Bool in
            defer { s.closed = true }
            return s.closed
        }
        guard !wasClosed else { return }
        let (fd, path) = (self.fd, self.path)
        try await threadPool.runIfActive {
            guard Glibc.close(fd) == 0 else { throw StorageError.ioFailed("close \(path): \(String(cString: strerror(errno)))") }
        }
    }

    /// Closes and removes a file whose bytes are no longer wanted; failures are logged.
    func discard(logger: Logger) async {
        do {
            try await close()
        } catch {
            logger.warning("temp file not closed", metadata: ["path": "\(path)", "error": "\(error)"])
        }
        remove(logger: logger)
    }

    /// Removes the file; a failure is logged (it is only ever a local temp file).
    func remove(logger: Logger) {
        if unlink(path) != 0, errno != ENOENT {
            logger.warning("temp file not removed", metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
    }
}

/// A local file's bytes as an async sequence of 1 MiB buffers read on NIO's thread pool (a request body). Each read
/// opens and closes the file, so a body abandoned half-way (a failed request) leaves no descriptor open.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let threadPool: NIOThreadPool
    static let chunk = 1 << 20

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let threadPool: NIOThreadPool
        var offset: Int64 = 0
        var done = false

        mutating func next() async throws -> ByteBuffer? {
            guard !done else { return nil }
            let (path, offset) = (self.path, self.offset)
            let buffer = try await threadPool.runIfActive { () throws -> ByteBuffer in
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw StorageError.ioFailed("open \(path): \(String(cString: strerror(errno)))") }
                defer { Glibc.close(fd) }
                var buffer = ByteBufferAllocator().buffer(capacity: FileChunks.chunk)
                var failure: Int32 = 0
                _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FileChunks.chunk) { ptr in
                    while true {
                        let n = pread(fd, ptr.baseAddress, FileChunks.chunk, off_t(offset))
                        if n >= 0 { return n }
                        if errno != EINTR { failure = errno; return 0 }
                    }
                }
                guard failure == 0 else { throw StorageError.ioFailed("read \(path): \(String(cString: strerror(failure)))") }
                return buffer
            }
            guard buffer.readableBytes > 0 else {
                done = true
                return nil
            }
            self.offset += Int64(buffer.readableBytes)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, threadPool: threadPool) }

    /// `Content-MD5` of the whole file (base64 of the digest), read a chunk at a time.
    func contentMD5() async throws -> String {
        var md5 = Insecure.MD5()
        for try await chunk in self { chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) } }
        return Data(md5.finalize()).base64EncodedString()
    }
}
