import AV
import Foundation
import Testing

/// The transcoder on clips generated with the ffmpeg CLI, outputs checked with ffprobe.
@Suite("VideoTranscoder", .serialized)
struct VideoTranscoderTests {
    /// h264 yuv420p at the size, AAC or no audio, moov before mdat, real poster and thumbnail JPEGs.
    func expectOutput(
        _ result: VideoTranscodeResult, in dir: String, width: Int, height: Int, audio: Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let streams = try await VideoFixtures.probe("\(dir)/out.mp4")
        let video = streams.filter { $0.type == "video" }
        #expect(video.count == 1, sourceLocation: sourceLocation)
        #expect(video.first?.codec == "h264", sourceLocation: sourceLocation)
        #expect(video.first?.pixelFormat == "yuv420p", sourceLocation: sourceLocation)
        #expect(video.first?.width == width, sourceLocation: sourceLocation)
        #expect(video.first?.height == height, sourceLocation: sourceLocation)
        #expect(result.video.width == width && result.video.height == height, sourceLocation: sourceLocation)
        let audioStreams = streams.filter { $0.type == "audio" }
        #expect(audioStreams.count == (audio ? 1 : 0), sourceLocation: sourceLocation)
        if audio { #expect(audioStreams.first?.codec == "aac", sourceLocation: sourceLocation) }
        #expect(result.outputHasAudio == audio, sourceLocation: sourceLocation)

        let atoms = try VideoFixtures.topLevelAtoms("\(dir)/out.mp4")
        let moov = atoms.firstIndex(of: "moov"), mdat = atoms.firstIndex(of: "mdat")
        #expect(moov != nil && mdat != nil && moov! < mdat!, "atoms: \(atoms)", sourceLocation: sourceLocation)

        #expect(VideoFixtures.isJPEG("\(dir)/poster.jpg"), sourceLocation: sourceLocation)
        #expect(VideoFixtures.isJPEG("\(dir)/thumbnail.jpg"), sourceLocation: sourceLocation)
        let poster = try await VideoFixtures.probe("\(dir)/poster.jpg").first
        #expect(poster?.width == result.poster.width && poster?.height == result.poster.height, sourceLocation: sourceLocation)
        #expect((poster?.width ?? 0) <= (width >= height ? 1280 : 720), sourceLocation: sourceLocation)
        #expect((poster?.height ?? 0) <= (width >= height ? 720 : 1280), sourceLocation: sourceLocation)
        let thumbnail = try await VideoFixtures.probe("\(dir)/thumbnail.jpg").first
        #expect(thumbnail?.width == 150 && thumbnail?.height == 150, sourceLocation: sourceLocation)
        // SPEC §12: the poster's placeholders. A ThumbHash's fifth byte says the picture's orientation (bit 7:
        // landscape), so an upright poster's hash says what the output's sides say.
        let placeholder = try #require(result.placeholder, sourceLocation: sourceLocation)
        let hash = try #require(Data(base64Encoded: placeholder.thumbhash), sourceLocation: sourceLocation)
        #expect((5...25).contains(hash.count), sourceLocation: sourceLocation)
        #expect((hash[4] & 0x80 != 0) == (width > height), "orientation of \(width)x\(height)", sourceLocation: sourceLocation)
        #expect(placeholder.dominantColor.count == 7 && placeholder.dominantColor.hasPrefix("#"), sourceLocation: sourceLocation)
    }

    @Test("1080p H.264/AAC MP4 takes the remux path")
    func remux1080p() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mp4", in: dir, size: "1920x1080", duration: 1.2, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.remuxed)
        try await expectOutput(result, in: dir, width: 1920, height: 1080, audio: true)
        #expect(result.poster.width == 1280 && result.poster.height == 720)
        #expect(abs(result.posterSeconds - 1.0) < 0.05)
        #expect(result.metadata.videoCodec == "h264" && result.metadata.audioCodec == "aac")
        #expect(result.metadata.width == 1920 && result.metadata.height == 1080 && result.metadata.hasAudio)
        #expect(abs((result.metadata.frameRate ?? 0) - 25) < 0.01)
        #expect(abs((result.metadata.duration ?? 0) - 1.2) < 0.1)
        #expect(result.metadata.bitRate > 0)
    }

    @Test("4K is downscaled to 1920x1080")
    func downscale4K() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mp4", in: dir, size: "3840x2160", duration: 0.5, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(!result.remuxed)
        try await expectOutput(result, in: dir, width: 1920, height: 1080, audio: true)
        #expect(result.metadata.width == 3840 && result.metadata.height == 2160)
    }

    @Test("MOV with a rotation display matrix comes out upright", arguments: [90, 180, 270])
    func rotated(degrees: Int) async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mov", in: dir, size: "320x180", video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
        try VideoFixtures.setRotation(input, degrees: degrees)
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.metadata.rotation == degrees)
        #expect(!result.remuxed)
        let (w, h) = degrees == 180 ? (320, 180) : (180, 320)
        try await expectOutput(result, in: dir, width: w, height: h, audio: true)
        #expect(result.metadata.width == w && result.metadata.height == h)
        #expect(result.poster.width == w && result.poster.height == h)
        // Turned the right way: the output matches the CLI's autorotated picture (a wrong turn scores ~10 dB).
        let psnr = try await VideoFixtures.psnr("\(dir)/out.mp4", against: input, width: w, height: h)
        #expect(psnr > 30, "PSNR \(psnr) dB")
    }

    @Test("MKV VP9/Opus")
    func mkvVP9Opus() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mkv", in: dir, video: "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k",
            audio: "-c:a libopus -b:a 48k")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(!result.remuxed)
        #expect(result.metadata.videoCodec == "vp9" && result.metadata.audioCodec == "opus")
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: true)
    }

    @Test("WebM VP8/Vorbis")
    func webmVP8Vorbis() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.webm", in: dir, video: "-c:v libvpx -deadline realtime -cpu-used 8 -b:v 300k", audio: "-c:a libvorbis")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.metadata.videoCodec == "vp8" && result.metadata.audioCodec == "vorbis")
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: true)
    }

    @Test("AVI MJPEG/MP3")
    func aviMJPEGMP3() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.avi", in: dir, video: "-c:v mjpeg -q:v 5 -pix_fmt yuvj420p", audio: "-c:a libmp3lame -b:a 64k")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.metadata.videoCodec == "mjpeg" && result.metadata.audioCodec == "mp3")
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: true)
    }

    @Test("MP4 without audio gives an MP4 without audio (remuxed and transcoded)")
    func noAudio() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mp4", in: dir, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p", audio: nil)
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.remuxed && !result.metadata.hasAudio && result.metadata.audioCodec == nil)
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: false)

        var options = VideoTranscodeOptions()
        options.allowRemux = false
        let transcoded = try await VideoFixtures.transcode(input, in: dir, options: options)
        #expect(!transcoded.remuxed)
        try await expectOutput(transcoded, in: dir, width: 320, height: 240, audio: false)
    }

    @Test("853x481 comes out with even dimensions")
    func oddDimensions() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mkv", in: dir, size: "854x482", video: "-c:v libx264 -preset ultrafast -pix_fmt yuv444p",
            audio: "-c:a libopus", extra: "-vf scale=853:481")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(result.metadata.width == 853 && result.metadata.height == 481)
        try await expectOutput(result, in: dir, width: 852, height: 480, audio: true)
    }

    @Test("10-bit H.264 comes out 8-bit yuv420p")
    func tenBit() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mp4", in: dir, duration: 0.5, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p10le")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(!result.remuxed)
        #expect(result.metadata.pixelFormat == "yuv420p10le")
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: true)
    }

    @Test("a 0.5 s clip takes its poster from the middle")
    func shortClipPoster() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip(
            "in.mkv", in: dir, duration: 0.5, video: "-c:v libvpx-vp9 -deadline realtime -cpu-used 8", audio: "-c:a libopus")
        let result = try await VideoFixtures.transcode(input, in: dir)
        #expect(abs(result.posterSeconds - 0.25) < 0.05, "poster at \(result.posterSeconds) s")
        try await expectOutput(result, in: dir, width: 320, height: 240, audio: true)

        let mp4 = try await VideoFixtures.clip(
            "short.mp4", in: dir, duration: 0.5, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
        let remuxed = try await VideoFixtures.transcode(mp4, in: dir)
        #expect(remuxed.remuxed)
        #expect(abs(remuxed.posterSeconds - 0.25) < 0.05, "poster at \(remuxed.posterSeconds) s")
    }

    @Test("random bytes named .mp4 fail with decode_failed")
    func randomBytes() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/garbage.mp4"
        _ = FileManager.default.createFile(atPath: path, contents: VideoFixtures.noise(count: 200_000))
        await #expect {
            _ = try await VideoFixtures.transcode(path, in: dir)
        } throws: { error in
            (error as? AVError)?.code == .decodeFailed && (error as? AVError)?.code.rawValue == "decode_failed"
        }
    }

    @Test("a truncated MP4 fails with decode_failed")
    func truncated() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip("in.mp4", in: dir, video: "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
        let data = try Data(contentsOf: URL(fileURLWithPath: input))
        let cut = "\(dir)/cut.mp4"
        _ = FileManager.default.createFile(atPath: cut, contents: data.prefix(data.count / 2))
        await #expect {
            _ = try await VideoFixtures.transcode(cut, in: dir)
        } throws: { error in
            (error as? AVError)?.isInputError == true
        }
    }

    @Test("audio only fails with no_video_stream")
    func audioOnly() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/tone.mp3"
        let (status, output) = await VideoFixtures.shell(
            "ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=duration=1 -c:a libmp3lame '\(path)'")
        #expect(status == 0, "\(output)")
        await #expect {
            _ = try await VideoFixtures.transcode(path, in: dir)
        } throws: { error in
            (error as? AVError)?.code == .noVideoStream
        }
    }

    @Test("a raised cancellation flag stops the job")
    func cancellation() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip("in.webm", in: dir, video: "-c:v libvpx -deadline realtime -cpu-used 8",
                                                 audio: "-c:a libvorbis")
        let request = VideoTranscodeRequest(inputPath: input, videoPath: "\(dir)/out.mp4", posterPath: "\(dir)/p.jpg",
                                            thumbnailPath: "\(dir)/t.jpg")
        let outcome: Result<VideoTranscodeResult, AVError> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Result { () throws(AVError) in
                    try VideoTranscoder().run(request, isCancelled: { true })
                })
            }
        }
        #expect(throws: AVError.self) { try outcome.get() }
        if case .failure(let error) = outcome { #expect(error.code == .cancelled) }
    }

    @Test("geometry: fit, even, never upscale, orientation-aware box")
    func geometry() {
        #expect(VideoGeometry.fit(width: 3840, height: 2160, long: 1920, short: 1080) == (1920, 1080))
        #expect(VideoGeometry.fit(width: 853, height: 481, long: 1920, short: 1080) == (852, 480))
        #expect(VideoGeometry.fit(width: 1080, height: 1920, long: 1920, short: 1080) == (1080, 1920))
        #expect(VideoGeometry.fit(width: 2160, height: 3840, long: 1920, short: 1080) == (1080, 1920))
        #expect(VideoGeometry.fit(width: 4000, height: 1000, long: 1920, short: 1080) == (1920, 480))
        #expect(VideoGeometry.fit(width: 320, height: 240, long: 1280, short: 720) == (320, 240))
        #expect(VideoGeometry.centreSquare(width: 320, height: 240) == (40, 0, 240))
    }
}
