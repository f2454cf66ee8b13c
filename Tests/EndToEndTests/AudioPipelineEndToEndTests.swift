import Foundation
import MediaDomain
import Testing
import TestSupport

/// Upload → AudioService → API with the real executables: the renditions fetched back through the Gateway are what
/// SPEC §2 says (MP3 128k CBR at 44.1 kHz, stereo from 5.1, tags kept, a waveform, the cover as thumbnail). On S3
/// storage (MEDIA_TEST_E2E_STORAGE=s3) the same files come from the bucket, ranges included.
@Suite("End to end: Gateway + AudioService", .serialized,
       .enabled(if: Stack.available, "needs MEDIA_TEST_BIN_DIR and the test servers (make test)"))
struct AudioPipelineEndToEndTests {
    @Test func surroundWAVAndTaggedMP3WithCoverBecomeReadyWithRealRenditions() async throws {
        let stack = try await Stack.start(processors: ["mediaflow-audio"])
        defer { stack.stop() }
        let user = Int64.random(in: 10_000_000...1_000_000_000)
        let surround = try await Fixtures.make(
            "surround.wav", "-f lavfi -i 'aevalsrc=0.2*sin(440*2*PI*t)|0.2*sin(550*2*PI*t)|0.2*sin(660*2*PI*t)"
                + "|0.2*sin(770*2*PI*t)|0.2*sin(880*2*PI*t)|0.1*sin(60*2*PI*t):s=48000:d=2.5:c=5.1' -c:a pcm_s16le")
        let tagged = try await Self.mp3WithCover()

        let wavUpload = try await stack.upload(surround, filename: "surround.wav", user: user)
        let mp3Upload = try await stack.upload(tagged, filename: "tone.mp3", user: user, isPublic: false)
        #expect(wavUpload.status == 201 && mp3Upload.status == 201, "\(wavUpload.json) \(mp3Upload.json)")
        let wavId = try #require(wavUpload.json["id"]?.intValue)
        let mp3Id = try #require(mp3Upload.json["id"]?.intValue)

        // 5.1 at 48 kHz: a stereo MP3 at 44.1 kHz, 128 kbit/s, no thumbnail (no cover).
        let wav = try await stack.waitFor(wavId, user: user)
        #expect(wav["status"] == "ready", "\(wav)")
        #expect(number(wav["duration"]).map { abs($0 - 2.5) < 0.1 } == true, "\(wav)")
        let wavURLs = try #require(wav["urls"]?.objectValue)
        #expect(Set(wavURLs.keys) == ["audio", "waveform", "original"], "\(wavURLs)")
        #expect(wav["display_url"] == wavURLs["audio"])
        let wavAudio = try await stack.request("GET", try #require(wavURLs["audio"]?.stringValue))
        #expect(wavAudio.status == 200 && wavAudio.headers["content-type"] == "audio/mpeg")
        let wavProbe = try await ffprobe(wavAudio.body, stream: "a:0", entries: Self.audioEntries)
        #expect(wavProbe["codec_name"] == "mp3" && wavProbe["sample_rate"] == "44100" && wavProbe["channels"] == "2",
                "\(wavProbe)")
        #expect(wavProbe["bit_rate"] == "128000", "\(wavProbe)")
        let waveform = try await stack.request("GET", try #require(wavURLs["waveform"]?.stringValue))
        #expect(waveform.status == 200 && waveform.headers["content-type"] == "application/json")
        let peaks = try JSONDecoder().decode(WaveformFile.self, from: waveform.body)
        #expect(peaks.length > 0 && peaks.data.count == 2 * peaks.length, "\(peaks.length) pairs, \(peaks.data.count) values")
        #expect(peaks.data.contains { $0 != 0 }, "a tone's waveform is not silence")

        // Ranges come from storage as asked: the first 100 bytes and the tail, equal to the whole file's.
        let audioURL = try #require(wavURLs["audio"]?.stringValue)
        let head = try await stack.request("GET", audioURL, headers: ["Range": "bytes=0-99"])
        #expect(head.status == 206 && head.body == wavAudio.body.prefix(100))
        #expect(head.headers["content-range"] == "bytes 0-99/\(wavAudio.body.count)")
        let tail = try await stack.request("GET", audioURL, headers: ["Range": "bytes=-50"])
        #expect(tail.status == 206 && tail.body == wavAudio.body.suffix(50))

        // A tagged MP3 with cover art: tags kept, the cover as a thumbnail within 150x150.
        let mp3 = try await stack.waitFor(mp3Id, user: user)
        #expect(mp3["status"] == "ready", "\(mp3)")
        let mp3URLs = try #require(mp3["urls"]?.objectValue)
        #expect(Set(mp3URLs.keys) == ["audio", "waveform", "original", "thumbnail"], "\(mp3URLs)")
        let mp3Audio = try await stack.request("GET", try #require(mp3URLs["audio"]?.stringValue))
        let mp3Probe = try await ffprobe(mp3Audio.body, stream: "a:0", entries: Self.audioEntries)
        #expect(mp3Probe["codec_name"] == "mp3" && mp3Probe["channels"] == "2" && mp3Probe["bit_rate"] == "128000",
                "\(mp3Probe)")
        #expect(mp3Probe["TAG:title"] == "E2E tone" && mp3Probe["TAG:artist"] == "Mediaflow", "\(mp3Probe)")
        let thumbnail = try await stack.request("GET", try #require(mp3URLs["thumbnail"]?.stringValue))
        #expect(thumbnail.status == 200 && thumbnail.headers["content-type"] == "image/jpeg")
        let size = try #require(jpegSize(thumbnail.body), "the thumbnail is a JPEG")
        #expect(size.0 <= 150 && size.1 <= 150 && max(size.0, size.1) == 150, "thumbnail is \(size)")
        #expect(try await stack.request("GET", try #require(mp3URLs["audio"]?.stringValue)).status == 200,
                "a signed URL works for anyone holding it")
    }

    static let audioEntries = "stream=codec_name,sample_rate,channels,bit_rate:format_tags=title,artist"

    struct WaveformFile: Decodable {
        var length: Int
        var data: [Double]
    }

    /// A 3 s stereo 192k MP3 with ID3 tags and a 320x240 JPEG cover (attached picture).
    static func mp3WithCover() async throws -> Data {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-cover-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let status = await runShell(
            "ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=320x240 -frames:v 1 '\(dir)/cover.jpg' && "
                + "ffmpeg -loglevel error -y -f lavfi -i sine=frequency=440:duration=3 -i '\(dir)/cover.jpg' -map 0:a "
                + "-map 1:v -ac 2 -c:a libmp3lame -b:a 192k -c:v copy -id3v2_version 3 -metadata title='E2E tone' "
                + "-metadata artist=Mediaflow '\(dir)/tone.mp3'")
        guard status == 0 else { throw StackError("ffmpeg failed making tone.mp3") }
        return try Data(contentsOf: URL(fileURLWithPath: "\(dir)/tone.mp3"))
    }
}
