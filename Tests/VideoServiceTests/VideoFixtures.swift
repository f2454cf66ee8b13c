import AV
import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Clips made with the ffmpeg CLI, and ffprobe checks of what the transcoder wrote.
enum VideoFixtures {
    /// A fresh scratch directory for one test.
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("video-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a shell command off Swift's cooperative pool; returns its status and combined output.
    static func shell(_ command: String) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: shellBlocking(command)) }
        }
    }

    private static func shellBlocking(_ command: String) -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sh-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        guard let shell = try? ChildProcess("/bin/sh", ["-c", command], output: .file(log)) else { return (-1, "spawn failed") }
        shell.waitUntilExit()
        return (shell.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Bytes that look random but are the same on every run (a fixed-seed generator): random input decided by the run
    /// made a test's verdict depend on what libav happened to probe it as.
    static func noise(count: Int) -> Data {
        var state: UInt64 = 0x5EED_F00D_CAFE_BEEF
        return Data((0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        })
    }

    /// Makes a clip with lavfi testsrc2 (+ sine unless `audio` is nil).
    static func clip(
        _ name: String, in dir: String, size: String = "320x240", duration: Double = 1, rate: Int = 25,
        video: String, audio: String? = "-c:a aac -b:a 64k", extra: String = ""
    ) async throws -> String {
        let path = "\(dir)/\(name)"
        var command = "ffmpeg -nostdin -hide_banner -loglevel error -y "
            + "-f lavfi -i testsrc2=size=\(sourceSize(size)):rate=\(rate):duration=\(duration) "
        if audio != nil { command += "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=\(duration) " }
        // testsrc2 makes even sizes of at least 2: anything else is scaled to from the next size up.
        let scale = sourceSize(size) == size ? "" : "-vf scale=\(size.replacingOccurrences(of: "x", with: ":")):flags=neighbor "
        command += "\(scale)\(video) \(audio ?? "-an") \(extra) '\(path)'"
        let (status, output) = await shell(command)
        guard status == 0 else { throw FixtureError("ffmpeg failed (\(status)): \(output)\n\(command)") }
        return path
    }

    /// The size testsrc2 is asked for: `size` rounded up to even numbers of at least 2.
    static func sourceSize(_ size: String) -> String {
        let sides = size.split(separator: "x").compactMap { Int($0) }
        guard sides.count == 2 else { return size }
        return sides.map { String(max(2, $0 + $0 % 2)) }.joined(separator: "x")
    }

    /// Transcodes on a thread of its own (the transcoder blocks).
    static func transcode(_ input: String, in dir: String, options: VideoTranscodeOptions = VideoTranscodeOptions())
        async throws -> VideoTranscodeResult
    {
        let request = VideoTranscodeRequest(
            inputPath: input, videoPath: "\(dir)/out.mp4", posterPath: "\(dir)/poster.jpg",
            thumbnailPath: "\(dir)/thumbnail.jpg")
        let result: Result<VideoTranscodeResult, AVError> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Result { () throws(AVError) in
                    try VideoTranscoder(options: options).run(request)
                })
            }
        }
        return try result.get()
    }

    /// One stream as ffprobe sees it.
    struct ProbedStream {
        var type: String
        var codec: String
        var pixelFormat: String?
        var width: Int?
        var height: Int?
    }

    static func probe(_ path: String) async throws -> [ProbedStream] {
        let (status, output) = await shell(
            "ffprobe -v error -show_entries stream=codec_type,codec_name,pix_fmt,width,height -of json '\(path)'")
        guard status == 0, let data = output.data(using: .utf8),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let streams = json["streams"] as? [[String: Any]] else {
            throw FixtureError("ffprobe failed on \(path): \(output)")
        }
        return streams.map { s in
            ProbedStream(type: s["codec_type"] as? String ?? "", codec: s["codec_name"] as? String ?? "",
                         pixelFormat: s["pix_fmt"] as? String, width: s["width"] as? Int, height: s["height"] as? Int)
        }
    }

    /// The top-level MP4 atoms in file order.
    static func topLevelAtoms(_ path: String) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var atoms: [String] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            var size = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            if size == 1, offset + 16 <= bytes.count {
                size = bytes[offset + 8..<offset + 16].reduce(0) { $0 << 8 | Int($1) }
            } else if size == 0 {
                size = bytes.count - offset
            }
            atoms.append(type)
            guard size >= 8 else { break }
            offset += size
        }
        return atoms
    }

    /// Writes a display matrix asking players to turn the picture `degrees` clockwise into the video track's
    /// `tkhd` (ffmpeg 5.1's muxer ignores `-metadata:s:v rotate=` and has no `-display_rotation` yet).
    static func setRotation(_ path: String, degrees: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let one: UInt32 = 0x0001_0000, minusOne: UInt32 = 0xFFFF_0000
        let (a, b, c, d): (UInt32, UInt32, UInt32, UInt32) = switch degrees {
        case 90: (0, one, minusOne, 0)
        case 180: (minusOne, 0, 0, minusOne)
        case 270: (0, minusOne, one, 0)
        default: (one, 0, 0, one)
        }
        let matrix: [UInt32] = [a, b, 0, c, d, 0, 0, 0, 0x4000_0000]
        let tag = Array("tkhd".utf8)
        var patched = false
        var i = 4
        while i + 4 <= bytes.count {
            defer { i += 1 }
            guard Array(bytes[i..<i + 4]) == tag else { continue }
            let m = i + 4 + (bytes[i + 4] == 0 ? 40 : 52)
            guard m + 44 <= bytes.count else { continue }
            let width = bytes[m + 36..<m + 40].reduce(0) { $0 << 8 | Int($1) }
            guard width != 0 else { continue }  // the audio track
            for (k, value) in matrix.enumerated() {
                for byte in 0..<4 { bytes[m + k * 4 + byte] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(byte))) }
            }
            patched = true
        }
        guard patched else { throw FixtureError("no video tkhd in \(path)") }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// PSNR (dB, average) of `a`'s video against `b`'s as the ffmpeg CLI shows it (autorotated, scaled to `a`'s size).
    static func psnr(_ a: String, against b: String, width: Int, height: Int) async throws -> Double {
        let (status, output) = await shell(
            "ffmpeg -nostdin -hide_banner -i '\(a)' -i '\(b)' -lavfi "
                + "'[1:v]scale=\(width):\(height),format=yuv420p[ref];[0:v][ref]psnr' -f null - 2>&1 | grep -o 'average:[0-9.inf]*'")
        guard status == 0, let value = output.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        else { throw FixtureError("psnr failed: \(output)") }
        return value
    }

    static func isJPEG(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path), data.count > 100 else { return false }
        return data.prefix(3) == Data([0xFF, 0xD8, 0xFF])
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
