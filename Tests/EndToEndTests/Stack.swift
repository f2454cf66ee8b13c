import Foundation

import MediaDomain
import Storage
import Synchronization
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
import Tokens
#endif

/// The real executables, started as processes against `make test`'s PostgreSQL and RabbitMQ, with a storage
/// folder and ports of their own. Tests drive the Gateway over HTTP only, as a client would.
///
/// With `MEDIA_TEST_E2E_STORAGE=s3` (the test command's second pass), each stack stores in a bucket of its own on the
/// test S3 server instead of a folder.
final class Stack: Sendable {
    static let env = ProcessInfo.processInfo.environment
    static var available: Bool {
        env["MEDIA_TEST_BIN_DIR"] != nil && env["MEDIA_TEST_DATABASE_URL"] != nil && env["MEDIA_TEST_AMQP_URL"] != nil
    }

    let baseURL: String
    /// The local storage folder (unused when the stack stores on S3).
    let storageDirectory: String
    /// The bucket, when the stack stores on S3.
    let bucket: S3Storage?
    let secret = "end-to-end-secret-end-to-end-secret"
    private let processes = Mutex<[(name: String, process: ChildProcess)]>([])
    /// What every process of the stack is started with (servers, storage, port, secret).
    let environment: [String: String]
    private let binDir: String

    /// Starts the Gateway and the given processors; returns once the Gateway answers `/readyz`.
    /// With `logDirectory`, each process logs at info level to `<logDirectory>/<name>.log` instead of the test's output.
    /// `overrides` replace settings of every process (e.g. `MEDIA_AMQP_URL` of a RabbitMQ cluster).
    static func start(processors: [String] = ["mediaflow-image"], logDirectory: String? = nil,
                      overrides: [String: String] = [:]) async throws -> Stack {
        let stack = try Stack(overrides: overrides)
        try await stack.bucket?.createBucket()
        try stack.launch("mediaflow-gateway", extra: [:], log: logDirectory.map { "\($0)/mediaflow-gateway.log" })
        for name in processors {
            // A port of its own from the cursor: `freePort() + i` was the port the next `freePort()` hands out, so a
            // second Gateway a test started next could be given the port a processor was about to bind (its /readyz
            // answered by the processor's ops server, its routes 404).
            try stack.launch(name, extra: ["MEDIA_OPS_PORT": String(freePort())],
                             log: logDirectory.map { "\($0)/\(name).log" })
        }
        let ready = await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
            (try? await stack.request("GET", "/readyz").status) == 200
        }
        guard ready else {
            stack.stop()
            throw StackError("gateway did not become ready at \(stack.baseURL)")
        }
        return stack
    }

    private init(overrides: [String: String]) throws {
        guard let bin = Self.env["MEDIA_TEST_BIN_DIR"], let db = Self.env["MEDIA_TEST_DATABASE_URL"],
              let amqp = Self.env["MEDIA_TEST_AMQP_URL"]
        else { throw StackError("MEDIA_TEST_BIN_DIR / MEDIA_TEST_DATABASE_URL / MEDIA_TEST_AMQP_URL not set") }
        binDir = bin
        let port = freePort()
        baseURL = "http://127.0.0.1:\(port)"
        storageDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: storageDirectory, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["MEDIA_DATABASE_URL"] = db
        env["MEDIA_AMQP_URL"] = amqp
        if Self.env["MEDIA_TEST_E2E_STORAGE"] == "s3" {
            guard let url = Self.env["MEDIA_LOCAL_S3_URL"], let access = Self.env["MEDIA_LOCAL_S3_ACCESS_KEY"],
                  let secretKey = Self.env["MEDIA_LOCAL_S3_SECRET_KEY"], var components = URLComponents(string: url)
            else { throw StackError("MEDIA_TEST_E2E_STORAGE=s3 needs MEDIA_LOCAL_S3_URL and its keys (make test)") }
            components.host = "e2e-\(UUID().uuidString.lowercased().prefix(13))"
            let bucketURL = components.string ?? url
            bucket = S3Storage(location: try S3Location(url: bucketURL, accessKey: access, secretKey: secretKey))
            env["MEDIA_STORAGE"] = bucketURL
            env["MEDIA_S3_ACCESS_KEY"] = access
            env["MEDIA_S3_SECRET_KEY"] = secretKey
        } else {
            bucket = nil
            env["MEDIA_STORAGE"] = "local:\(storageDirectory)"
        }
        env["MEDIA_HTTP_PORT"] = String(port)
        env["MEDIA_HTTP_HOST"] = "127.0.0.1"
        env["MEDIA_JWT_SECRET"] = secret
        env["MEDIA_LOG_LEVEL"] = "warning"
        // Every stack shares the test database, so a user's upload budget and stored bytes add up across the tests of a
        // run (and the runs of a machine): fair use is off unless a test sets it (FairUseEndToEndTests).
        env["MEDIA_UPLOAD_RATE"] = "off"
        env["MEDIA_QUOTA_BYTES"] = String(Int64(1) << 50)
        environment = env.merging(overrides) { $1 }
    }

    /// Starts one executable of the bin folder (stopped with the others by `stop()`). With `log`, its stdout and
    /// stderr are appended to that file and it logs at info level (unless `extra` says otherwise).
    @discardableResult
    func launch(_ name: String, extra: [String: String], log: String? = nil) throws -> ChildProcess {
        var env = environment
        if log != nil { env["MEDIA_LOG_LEVEL"] = "info" }
        let process = try ChildProcess("\(binDir)/\(name)", [], environment: env.merging(extra) { $1 },
                                       output: log.map { .file($0) } ?? .inherit)
        processes.withLock { $0.append((name, process)) }
        return process
    }

    /// The processes launched as `name` (still running or not), oldest first.
    func processes(named name: String) -> [ChildProcess] {
        processes.withLock { $0.filter { $0.name == name }.map(\.process) }
    }

    /// SIGTERM to every process, SIGKILL to any still alive after 5 s; removes the storage folder.
    func stop() {
        let all = processes.withLock { p -> [ChildProcess] in
            defer { p = [] }
            return p.map(\.process)
        }
        for p in all where p.isRunning { p.terminate() }
        let deadline = Date().addingTimeInterval(5)
        for p in all {
            while p.isRunning && Date() < deadline { usleep(50_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: storageDirectory)
    }

    /// Every stored key (a file under the storage folder, or an object in the stack's bucket), sorted.
    func storedKeys() async throws -> [String] {
        if let bucket { return try await bucket.list(prefix: "") }
        return regularFiles(under: storageDirectory).sorted()
    }

    /// Multipart uploads begun in the stack's bucket and neither completed nor aborted (always 0 on local disk, where
    /// an unfinished write is a temp file that `storedKeys` shows).
    func openUploads() async throws -> Int {
        try await bucket?.openMultipartUploads(prefix: "").count ?? 0
    }

    /// Runs a tool of the bin folder (mediactl) with this stack's environment; returns its exit status, its output
    /// (stdout and stderr) and how long it took.
    func tool(_ name: String, _ arguments: [String], extra: [String: String] = [:]) throws -> (status: Int32, output: String, elapsed: Duration) {
        let started = ContinuousClock.now
        let (status, output) = try runCapturing("\(binDir)/\(name)", arguments, environment: environment.merging(extra) { $1 },
                                                inheritEnvironment: false)
        return (status, output, started.duration(to: .now))
    }

    /// One value from the test database (`psql -Atc`), for checks a client cannot make.
    func sql(_ statement: String) async throws -> String {
        guard let url = Self.env["MEDIA_TEST_DATABASE_URL"] else { throw StackError("MEDIA_TEST_DATABASE_URL not set") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let escaped = statement.replacingOccurrences(of: "'", with: "'\\''")
        guard await runShell("psql '\(url)' -Atc '\(escaped)' > '\(out)'") == 0 else { throw StackError("psql failed: \(statement)") }
        return try String(contentsOfFile: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func token(user: Int64) -> String {
        JWTAuthenticator(secret: secret).mint(user: AuthenticatedUser(id: user, username: "e2e\(user)"))
    }

    func staffToken() -> String {
        JWTAuthenticator(secret: secret).mint(user: AuthenticatedUser(id: 1, username: "staff-e2e", isStaff: true))
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: JSONValue] { (try? JSONDecoder().decode([String: JSONValue].self, from: body)) ?? [:] }
    }

    func request(_ method: String, _ pathOrURL: String, user: Int64? = nil, body: Data? = nil,
                 headers: [String: String] = [:], timeout: TimeInterval = 30) async throws -> Reply {
        let url = URL(string: pathOrURL.hasPrefix("http") ? pathOrURL : baseURL + pathOrURL)
        guard let url else { throw StackError("bad URL \(pathOrURL)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let user { request.setValue("Bearer \(token(user: user))", forHTTPHeaderField: "Authorization") }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw StackError("no HTTP response") }
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: fields, body: data)
    }

    /// - Parameter baseURL: another Gateway of the stack's servers (default: the stack's own).
    /// - Parameter asIs: send `bytes` exactly; by default a copy no other upload has is sent (`Fixtures.distinct`), so
    ///   that each upload is processed rather than a duplicate of an earlier one with the same fixture (SPEC §13).
    func upload(_ bytes: Data, filename: String, user: Int64, isPublic: Bool = true,
                timeout: TimeInterval = 30, headers extra: [String: String] = [:], baseURL: String? = nil,
                asIs: Bool = false) async throws -> Reply {
        let bytes = asIs ? bytes : Fixtures.distinct(bytes)
        let boundary = "e2e-\(UUID().uuidString)"
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"is_public\"\r\n\r\n\(isPublic)\r\n".utf8)
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8))
        body.append(bytes)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return try await request("POST", (baseURL ?? self.baseURL) + "/api/media/upload/", user: user, body: body,
                                 headers: extra.merging(["Content-Type": "multipart/form-data; boundary=\(boundary)"]) { $1 },
                                 timeout: timeout)
    }

    /// Polls the media every 50 ms until its status is one of `statuses`; returns its last state.
    func waitFor(_ id: Int64, user: Int64, statuses: Set<String> = ["ready", "failed"], timeout: Duration = .seconds(60)) async throws -> [String: JSONValue] {
        var last: [String: JSONValue] = [:]
        _ = try await eventually(timeout: timeout, interval: .milliseconds(50)) {
            last = try await request("GET", "/api/media/\(id)/", user: user).json
            return last["status"]?.stringValue.map { statuses.contains($0) } ?? false
        }
        return last
    }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A port nothing listens on now, from this test process's own range: `MEDIA_TEST_PORT_BASE` (the test command gives
/// each stream its own) and the 6,000 ports above it, all below the kernel's ephemeral range (32768 up). A port the
/// kernel hands out (a bind to 0 elsewhere, an outgoing connection) or the other stream chooses is never among them,
/// so the port is still free when the service binds it. Before, a port read back from a bind to 0 and closed could
/// be handed to the other stream's service first (`bind: Address already in use`, a VideoService that never started).
func freePort() -> Int {
    let base = ProcessInfo.processInfo.environment["MEDIA_TEST_PORT_BASE"].flatMap { Int($0) } ?? 20_000
    for _ in 0..<portRangeSize {
        let port = base + portCursor.wrappingAdd(1, ordering: .relaxed).oldValue % portRangeSize
        if canListen(on: port) { return port }
    }
    fatalError("no free port in \(base)..<\(base + portRangeSize)")
}

private let portRangeSize = 6_000
private let portCursor = Atomic<Int>(0)

/// Whether a listening socket can be bound to 127.0.0.1:`port` now (without SO_REUSEADDR: a port in TIME_WAIT is
/// passed over too).
private func canListen(on port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let len = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0
}

/// Fixtures made with the ffmpeg CLI (fine in tests; the services never spawn it).
enum Fixtures {
    static func make(_ name: String, _ args: String) async throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)-\(name)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let status = await runShell("ffmpeg -loglevel error -y \(args) '\(path)'")
        guard status == 0 else { throw StackError("ffmpeg failed making \(name)") }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// The same media with 16 bytes no other copy has: identical bytes from one user are a duplicate sharing the first
    /// upload's files without being processed (SPEC §13), so a test that means to process each upload sends a distinct
    /// copy. An ISO BMFF file (MP4, MOV, M4A, HEIC, AVIF) gets a `free` box at its end, which every reader skips;
    /// anything else gets the bytes after its end (a JPEG's EOI, a PNG's IEND, a WAV's data chunk, the last MP3 frame),
    /// which decoders ignore.
    /// An MP3 gets an ID3v2 `PRIV` frame instead (bytes after its last frame are a truncated frame to a strict reader).
    static func distinct(_ data: Data) -> Data {
        let tag = withUnsafeBytes(of: UUID().uuid) { Data($0) }
        let bytes = [UInt8](data)
        if bytes.count >= 10, bytes.starts(with: Array("ID3".utf8)) || (bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
            // PRIV: owner "mediaflow" and the tag; 26 bytes, below 128, so its size reads the same in ID3v2.3 and 2.4.
            let body = Array("mediaflow\0".utf8) + [UInt8](tag)
            let frame = Array("PRIV".utf8) + [0, 0, 0, UInt8(body.count), 0, 0] + body
            func syncsafe(_ n: Int) -> [UInt8] { [UInt8(n >> 21 & 0x7F), UInt8(n >> 14 & 0x7F), UInt8(n >> 7 & 0x7F), UInt8(n & 0x7F)] }
            guard bytes.starts(with: Array("ID3".utf8)) else {
                return Data(Array("ID3".utf8) + [4, 0, 0] + syncsafe(frame.count) + frame + bytes)
            }
            let size = bytes[6...9].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
            return Data(bytes[0..<6] + syncsafe(size + frame.count) + frame + bytes[10...])
        }
        var copy = data
        if data.count >= 8, data.dropFirst(4).prefix(4) == Data("ftyp".utf8) {
            withUnsafeBytes(of: UInt32(8 + tag.count).bigEndian) { copy.append(contentsOf: $0) }
            copy.append(Data("free".utf8))
        }
        copy.append(tag)
        return copy
    }

    static func jpeg(width: Int, height: Int) async throws -> Data {
        try await make("photo.jpg", "-f lavfi -i testsrc2=size=\(width)x\(height) -frames:v 1 -q:v 3")
    }

    /// A PNG whose header says 12000x12000 (144 MP) with tiny, valid compressed data: a pixel bomb.
    static func pixelBomb() async throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
        import struct, zlib
        w = h = 12000
        def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
        c = zlib.compressobj(9); row = b'\\x00' * (w + 1); parts = [c.compress(row) for _ in range(h)]; parts.append(c.flush())
        data = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', b''.join(parts)) + chunk(b'IEND', b'')
        open('\(path)', 'wb').write(data)
        """
        let scriptPath = path + ".py"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scriptPath) }
        guard await runShell("python3 '\(scriptPath)'") == 0 else { throw StackError("bomb script failed") }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}

/// ffprobe's view of a served file (`-show_entries entries` of `stream`, as `key=value`; tags as `TAG:name`).
func ffprobe(_ bytes: Data, stream: String, entries: String) async throws -> [String: String] {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-probe-\(UUID().uuidString)").path
    let out = path + ".txt"
    defer {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: out)
    }
    try bytes.write(to: URL(fileURLWithPath: path))
    let status = await runShell(
        "ffprobe -v error -select_streams \(stream) -show_entries \(entries) -of default=noprint_wrappers=1 '\(path)' > '\(out)'")
    guard status == 0 else { throw StackError("ffprobe failed on a served file") }
    var fields: [String: String] = [:]
    for line in try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") {
        let parts = line.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    return fields
}

/// Width and height from a baseline/progressive JPEG's SOF marker: what the file really is.
func jpegSize(_ data: Data) -> (Int, Int)? {
    let b = [UInt8](data)
    var i = 2
    while i + 9 < b.count {
        guard b[i] == 0xFF else { i += 1; continue }
        let marker = b[i + 1]
        let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
        if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
            return (Int(b[i + 7]) << 8 | Int(b[i + 8]), Int(b[i + 5]) << 8 | Int(b[i + 6]))
        }
        i += 2 + length
    }
    return nil
}

/// `sha256sum` of `bytes` (the coreutils tool, the checker of SPEC §13's `sha256`).
func sha256sum(_ bytes: Data) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString)").path
    try bytes.write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let result = try runCapturing("/usr/bin/env", ["sha256sum", path])
    return String(result.output.prefix(64))
}
