import AV
import Foundation
import Testing

/// Issue 27, defect 0's sweep on video: degenerate but valid clips (1×1, 1×N, N×1, odd sizes for 4:2:0, one frame,
/// 10 ms, extreme aspect ratios, an empty audio stream) either become a playable H.264 MP4 with a poster and a
/// thumbnail, or fail with an input error code: never a crash (the test process would die) and never a 0-pixel output.
/// Every one of them becomes a video (a 1×1 picture a 2×2 one: H.264 in 4:2:0 needs even sides).
@Suite("VideoTranscoder: degenerate inputs", .serialized)
struct DegenerateVideoTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var size: String
        var duration = 0.2
        var video = "-c:v ffv1"
        var container = "mkv"
        var audio: String? = nil
        var extra = ""
        /// What it must become: the output's size, or "refused <code>".
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "1x1 FFV1", size: "1x1", expected: "2x2"),
        Case(name: "1x2 FFV1", size: "1x2", expected: "2x2"),
        Case(name: "2x1 FFV1", size: "2x1", expected: "2x2"),
        Case(name: "3x3 VP9 (odd, 4:2:0)", size: "3x3", video: "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -pix_fmt yuv420p", container: "webm", expected: "2x2"),
        Case(name: "1x4000 FFV1", size: "1x4000", duration: 0.08, expected: "2x1920"),
        Case(name: "4000x1 FFV1", size: "4000x1", duration: 0.08, expected: "1920x2"),
        Case(name: "2x2 H.264 MP4 (remux candidate)", size: "2x2", video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", container: "mp4", expected: "2x2"),
        Case(name: "4096x2 H.264 (extreme aspect)", size: "4096x2", duration: 0.08, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", container: "mp4", expected: "1920x2"),
        Case(name: "one frame", size: "64x48", duration: 0.04, expected: "64x48"),
        Case(name: "10 ms with 10 ms of audio", size: "64x48", duration: 0.01, audio: "-c:a pcm_s16le", expected: "64x48"),
        Case(name: "an audio stream with no samples", size: "64x48", duration: 0.2, audio: "-c:a pcm_s16le", extra: "-t 0.2 -map 0:v -map 1:a -af atrim=end_sample=0", expected: "64x48"),
        Case(name: "17x9 MJPEG AVI (odd, 4:2:2)", size: "17x9", video: "-c:v mjpeg -pix_fmt yuvj422p", container: "avi", expected: "16x8"),
    ]

    @Test(arguments: cases)
    func aDegenerateClipIsTranscodedOrRefusedWithACode(_ clip: Case) async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.\(clip.container)", in: dir, size: clip.size, duration: clip.duration, video: clip.video, audio: clip.audio,
            extra: clip.extra)
        let result: VideoTranscodeResult
        do {
            result = try await VideoFixtures.transcode(input, in: dir)
        } catch let error as AVError {
            #expect(error.isInputError, "\(clip.name): refused with \(error.code.rawValue), an input error: \(error)")
            #expect(clip.expected == "refused \(error.code.rawValue)", "\(clip.name): \(error)")
            return
        }
        let streams = try await VideoFixtures.probe("\(dir)/out.mp4")
        let video = try #require(streams.first { $0.type == "video" }, "\(clip.name): a video stream")
        #expect(video.codec == "h264" && video.pixelFormat == "yuv420p", "\(clip.name)")
        let (width, height) = (video.width ?? 0, video.height ?? 0)
        #expect(clip.expected == "\(width)x\(height)", "\(clip.name): \(width)x\(height)")
        #expect(width >= 2 && height >= 2 && width % 2 == 0 && height % 2 == 0, "\(clip.name): \(width)x\(height)")
        #expect(result.video.width == width && result.video.height == height)
        for (file, size) in [("poster.jpg", result.poster), ("thumbnail.jpg", nil)] {
            #expect(VideoFixtures.isJPEG("\(dir)/\(file)"), "\(clip.name): \(file)")
            let probed = try await VideoFixtures.probe("\(dir)/\(file)").first
            #expect((probed?.width ?? 0) >= 1 && (probed?.height ?? 0) >= 1, "\(clip.name): \(file)")
            if let size { #expect(probed?.width == size.width && probed?.height == size.height) }
        }
        // ffmpeg decodes every frame of it without an error.
        let (status, output) = await VideoFixtures.shell("ffmpeg -nostdin -v error -i '\(dir)/out.mp4' -f null -")
        #expect(status == 0 && output.isEmpty, "\(clip.name): \(output)")
    }
}
