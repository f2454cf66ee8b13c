import Foundation
import TestSupport

/// Inputs made with the ffmpeg CLI (lavfi sources, 3 s) once per test process, and ffprobe/ffmpeg helpers.
actor AudioFixtures {
    static let shared = AudioFixtures()

    let directory: String
    private var made: Set<String> = []

    private init() {
        directory = NSTemporaryDirectory() + "audio-fixtures-\(getpid())-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Path of the fixture `name` (file name with extension), made on first use with `command`, where
    /// `$OUT` is the output path and `$DIR` the fixture directory.
    func path(_ name: String, _ command: String) async throws -> String {
        let path = directory + "/" + name
        if made.contains(name) { return path }
        let script = command.replacingOccurrences(of: "$OUT", with: "'\(path)'")
            .replacingOccurrences(of: "$DIR", with: "'\(directory)'")
        let status = await runShell(script)
        guard status == 0, FileManager.default.fileExists(atPath: path) else {
            throw FixtureError("fixture \(name) failed (status \(status)): \(script)")
        }
        made.insert(name)
        return path
    }

    /// A fresh empty output directory.
    func outputDirectory() throws -> String {
        let path = directory + "/out-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    nonisolated static let sine = "-f lavfi -i sine=frequency=440:duration=3"
    nonisolated static let ffmpeg = "ffmpeg -nostdin -loglevel error -y"
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// ffprobe's view of a file: first audio/video stream and format, as JSON objects.
struct Probe {
    var stream: [String: Any]
    var format: [String: Any]

    var codec: String? { stream["codec_name"] as? String }
    var sampleRate: Int? { (stream["sample_rate"] as? String).flatMap { Int($0) } }
    var channels: Int? { stream["channels"] as? Int }
    var bitRate: Int? { (stream["bit_rate"] as? String).flatMap { Int($0) } }
    var width: Int? { stream["width"] as? Int }
    var height: Int? { stream["height"] as? Int }
    var tags: [String: String] {
        let raw = format["tags"] as? [String: String] ?? [:]
        return Dictionary(raw.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static func of(_ path: String, select: String = "a:0") async throws -> Probe {
        let out = path + ".probe-\(UUID().uuidString.prefix(6)).json"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let status = await runShell(
            "ffprobe -v error -select_streams \(select) -show_streams -show_format -of json '\(path)' > '\(out)'")
        guard status == 0, let data = FileManager.default.contents(atPath: out),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("ffprobe failed on \(path)")
        }
        let streams = json["streams"] as? [[String: Any]] ?? []
        return Probe(stream: streams.first ?? [:], format: json["format"] as? [String: Any] ?? [:])
    }

    /// Seconds of audio ffmpeg decodes from `path` (counted from 44.1 kHz mono s16 PCM): the duration a
    /// listener hears, free of container estimates and MP3 frame padding.
    static func decodedSeconds(_ path: String) async throws -> Double {
        let out = path + ".pcm-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let status = await runShell("ffmpeg -nostdin -v error -y -i '\(path)' -map 0:a:0 -ac 1 -ar 44100 -f s16le '\(out)'")
        guard status == 0, let attributes = try? FileManager.default.attributesOfItem(atPath: out),
              let size = attributes[.size] as? NSNumber else {
            throw FixtureError("ffmpeg could not decode \(path)")
        }
        return size.doubleValue / 2 / 44_100
    }
}

/// Runs blocking work on a thread of its own, never on the cooperative pool (2 threads here).
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
