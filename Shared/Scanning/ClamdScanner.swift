import Foundation
import NIOCore
import NIOPosix

/// clamd's INSTREAM command (clamd(8)): `zINSTREAM\0`, then the file as chunks each prefixed by its length (4 bytes,
/// network order), then a zero length; clamd answers one NUL-terminated line: `stream: OK`, `stream: <name> FOUND`, or
/// `INSTREAM size limit exceeded. ERROR` once more than its `StreamMaxLength` arrived (it may close the connection
/// then, before the rest is sent: the answer is still read).
///
/// One connection per scan (clamd serves each on a thread of its own; there is nothing to keep between scans). The
/// file is read 256 KiB at a time while the previous chunk is on its way, so memory stays one chunk whatever the size.
public struct ClamdScanner: MalwareScanner {
    public let address: ClamdAddress
    /// Longest wait for clamd to accept, and for its answer once the last chunk is sent.
    public let timeout: Duration
    static let chunkSize = 256 * 1024

    public init(address: ClamdAddress, timeout: Duration = .seconds(60)) {
        self.address = address
        self.timeout = timeout
    }

    public func scan(path: String) async throws -> ScanVerdict {
        guard let file = FileHandle(forReadingAtPath: path) else { throw ScanUnavailable("cannot open \(path) to scan it") }
        defer { try? file.close() }
        let reply = try await exchange { outbound in
            try await outbound.write(ByteBuffer(string: "zINSTREAM\0"))
            while true {
                let chunk = try file.read(upToCount: Self.chunkSize) ?? Data()
                var framed = ByteBuffer()
                framed.writeInteger(UInt32(chunk.count))
                framed.writeBytes(chunk)
                try await outbound.write(framed)
                if chunk.isEmpty { break }
            }
        }
        return try Self.verdict(reply)
    }

    public func ping() async throws {
        let reply = try await exchange { outbound in try await outbound.write(ByteBuffer(string: "zPING\0")) }
        guard reply == "PONG" else { throw ScanUnavailable("clamd answered '\(reply.prefix(80))' to PING") }
    }

    /// Asks clamd to load its signature databases again (a new signature file in its folder); clamd answers
    /// `RELOADING` and reloads in the background.
    public func reload() async throws -> String {
        try await exchange { outbound in try await outbound.write(ByteBuffer(string: "zRELOAD\0")) }
    }

    /// clamd's answer to a scan, as a verdict; anything else is no verdict (`ScanUnavailable`).
    static func verdict(_ reply: String) throws -> ScanVerdict {
        if reply == "stream: OK" { return .clean }
        if reply.hasPrefix("stream: "), reply.hasSuffix(" FOUND") {
            let name = reply.dropFirst("stream: ".count).dropLast(" FOUND".count)
            guard !name.isEmpty else { throw ScanUnavailable("clamd answered '\(reply)'") }
            return .infected(signature: String(name))
        }
        if reply.hasPrefix("INSTREAM size limit exceeded") { return .tooLarge }
        throw ScanUnavailable(reply.isEmpty ? "clamd closed the connection without an answer" : "clamd answered '\(reply.prefix(200))'")
    }

    /// Connects, sends what `send` writes, and returns clamd's NUL-terminated answer (without the NUL). A write that
    /// fails because clamd closed early still reads the answer clamd sent before closing.
    private func exchange(
        _ send: @escaping @Sendable (NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Void
    ) async throws -> String {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await connect()
        } catch {
            throw ScanUnavailable("clamd at \(address) is unreachable: \(error)")
        }
        let timeout = self.timeout
        do {
            return try await converse(channel, timeout: timeout, send)
        } catch let error as ScanUnavailable {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A connection reset or closed mid-answer: no verdict, the scanner's state, never the file's.
            throw ScanUnavailable("clamd at \(address) failed mid-conversation: \(error)")
        }
    }

    private func converse(
        _ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, timeout: Duration,
        _ send: @escaping @Sendable (NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Void
    ) async throws -> String {
        let address = self.address
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    var reply = ByteBuffer()
                    for try await var chunk in inbound {
                        reply.writeBuffer(&chunk)
                        if let end = reply.readableBytesView.firstIndex(of: 0) {
                            return String(decoding: reply.readableBytesView[..<end], as: UTF8.self)
                        }
                        guard reply.readableBytes < 64 * 1024 else { break }
                    }
                    return String(buffer: reply)
                }
                group.addTask {
                    // A write refused because clamd hung up is answered by the reply above, or by its absence; then
                    // this task waits with the others (the deadline below bounds a clamd that stops reading too).
                    try? await send(outbound)
                    try await Task.sleep(for: .seconds(86_400))
                    return nil
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let reply = result { return reply.trimmingCharacters(in: .whitespacesAndNewlines) }
                    throw ScanUnavailable("clamd at \(address) gave no answer within \(timeout)")
                }
                throw ScanUnavailable("clamd at \(address) gave no answer")
            }
        }
    }

    private func connect() async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(Int64(max(1, timeout.components.seconds))))
        let wrap: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        switch address {
        case .unix(let path): return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: wrap)
        case .tcp(let host, let port): return try await bootstrap.connect(host: host, port: port, channelInitializer: wrap)
        }
    }
}
