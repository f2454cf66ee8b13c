import AV
import Foundation
import Testing

/// One generated input and what the MP3 made from it must look like.
struct AudioCase: Sendable, CustomTestStringConvertible {
    var name: String
    /// ffmpeg arguments after the inputs, ending in the output format options (`$OUT` is appended).
    var command: String
    var sourceCodec: String
    var sourceSampleRate: Int
    var sourceChannels: Int
    var outputChannels: Int
    var tags: [String: String] = [:]
    var hasCover = false

    var testDescription: String { name }

    static let tags = ["title": "A Title", "artist": "An Artist", "album": "An Album"]
    static let tagArgs = "-metadata title='A Title' -metadata artist='An Artist' -metadata album='An Album'"
    static let ff = AudioFixtures.ffmpeg
    static let sine = AudioFixtures.sine

    static let all: [AudioCase] = [
        AudioCase(name: "tagged.mp3",
                  command: "\(ff) -f lavfi -i testsrc2=size=320x240 -frames:v 1 $DIR/cover.jpg && "
                      + "\(ff) \(sine) -i $DIR/cover.jpg -map 0:a -map 1:v -ac 2 -c:a libmp3lame -b:a 192k -c:v copy "
                      + "-id3v2_version 3 \(tagArgs) -metadata:s:v title='Album cover' -metadata:s:v comment='Cover (front)' $OUT",
                  sourceCodec: "mp3", sourceSampleRate: 44_100, sourceChannels: 2, outputChannels: 2, tags: tags, hasCover: true),
        AudioCase(name: "s16-44k-stereo.wav", command: "\(ff) \(sine) -ac 2 -c:a pcm_s16le \(tagArgs) $OUT",
                  sourceCodec: "pcm_s16le", sourceSampleRate: 44_100, sourceChannels: 2, outputChannels: 2, tags: tags),
        AudioCase(name: "s24-96k.wav", command: "\(ff) -f lavfi -i sine=frequency=440:duration=3:sample_rate=96000 -ac 2 -c:a pcm_s24le $OUT",
                  sourceCodec: "pcm_s24le", sourceSampleRate: 96_000, sourceChannels: 2, outputChannels: 2),
        AudioCase(name: "surround-5.1.wav",
                  command: "\(ff) -f lavfi -i 'aevalsrc=0.2*sin(440*2*PI*t)|0.2*sin(550*2*PI*t)|0.2*sin(660*2*PI*t)"
                      + "|0.1*sin(55*2*PI*t)|0.2*sin(770*2*PI*t)|0.2*sin(880*2*PI*t):c=5.1:s=48000:d=3' -c:a pcm_s16le $OUT",
                  sourceCodec: "pcm_s16le", sourceSampleRate: 48_000, sourceChannels: 6, outputChannels: 2),
        AudioCase(name: "mono.wav", command: "\(ff) \(sine) -ac 1 -c:a pcm_s16le $OUT",
                  sourceCodec: "pcm_s16le", sourceSampleRate: 44_100, sourceChannels: 1, outputChannels: 1),
        AudioCase(name: "vorbis.ogg",
                  command: "\(ff) \(sine) -ac 2 -c:a libvorbis -metadata TITLE='A Title' -metadata ARTIST='An Artist' -metadata Album='An Album' $OUT",
                  sourceCodec: "vorbis", sourceSampleRate: 44_100, sourceChannels: 2, outputChannels: 2, tags: tags),
        AudioCase(name: "adts.aac", command: "\(ff) \(sine) -ac 2 -c:a aac -b:a 128k -f adts $OUT",
                  sourceCodec: "aac", sourceSampleRate: 44_100, sourceChannels: 2, outputChannels: 2),
        AudioCase(name: "aac.m4a", command: "\(ff) \(sine) -ac 2 -c:a aac -b:a 128k \(tagArgs) $OUT",
                  sourceCodec: "aac", sourceSampleRate: 44_100, sourceChannels: 2, outputChannels: 2, tags: tags),
        AudioCase(name: "alac.m4a", command: "\(ff) -f lavfi -i sine=frequency=440:duration=3:sample_rate=48000 -ac 1 -c:a alac $OUT",
                  sourceCodec: "alac", sourceSampleRate: 48_000, sourceChannels: 1, outputChannels: 1),
    ]
}

@Suite("AudioTranscoder: every supported input → MP3 128k 44.1 kHz + waveform (+ cover)")
struct AudioTranscoderTests {
    @Test(arguments: AudioCase.all)
    func transcodes(_ c: AudioCase) async throws {
        let input = try await AudioFixtures.shared.path(c.name, c.command)
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let result = try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir) }

        // The MP3, as ffprobe sees it.
        let mp3 = try await Probe.of(result.mp3Path)
        #expect(mp3.codec == "mp3")
        #expect(mp3.sampleRate == 44_100)
        #expect(mp3.channels == c.outputChannels)
        #expect(result.mp3Channels == c.outputChannels)
        let bitRate = try #require(mp3.bitRate)
        #expect(abs(bitRate - 128_000) <= 2_000, "bit rate \(bitRate)")
        for (key, value) in c.tags { #expect(mp3.tags[key] == value, "tag \(key)") }

        // Same length as the source, as ffmpeg decodes both.
        let sourceSeconds = try await Probe.decodedSeconds(input)
        let outputSeconds = try await Probe.decodedSeconds(result.mp3Path)
        #expect(abs(outputSeconds - sourceSeconds) <= 0.05, "source \(sourceSeconds) s, mp3 \(outputSeconds) s")
        #expect(abs(result.metadata.duration - sourceSeconds) <= 0.05)

        // What was learned about the source.
        #expect(result.metadata.codec == c.sourceCodec)
        #expect(result.metadata.sampleRate == c.sourceSampleRate)
        #expect(result.metadata.channels == c.sourceChannels)
        #expect(result.metadata.bitRate > 0)
        for (key, value) in c.tags { #expect(result.metadata.tags.values[key] == value) }

        // The waveform JSON: 800 (min, max) pairs within -1…1 showing the tone (lavfi sine peaks at 1/8).
        let json = try #require(FileManager.default.contents(atPath: result.waveformPath))
        let waveform = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(waveform["version"] as? Int == 1)
        #expect(waveform["length"] as? Int == 800)
        #expect(waveform["sample_rate"] as? Int == 44_100)
        let data = try #require(waveform["data"] as? [Double])
        #expect(data.count == 1_600)
        #expect(data.allSatisfy { (-1.0...1.0).contains($0) })
        #expect(stride(from: 0, to: data.count, by: 2).allSatisfy { data[$0] <= data[$0 + 1] })
        #expect((data.max() ?? 0) > 0.05)
        #expect((data.min() ?? 0) < -0.05)
        let spp = try #require(waveform["samples_per_pixel"] as? Double)
        #expect(abs(spp * 800 / 44_100 - sourceSeconds) <= 0.05)

        // Cover art → a real JPEG of at most 150x150.
        if c.hasCover {
            let coverPath = try #require(result.coverPath)
            let bytes = try #require(FileManager.default.contents(atPath: coverPath))
            #expect(bytes.starts(with: [0xFF, 0xD8, 0xFF]))
            let cover = try await Probe.of(coverPath, select: "v:0")
            #expect(cover.codec == "mjpeg")
            let (w, h) = (try #require(cover.width), try #require(cover.height))
            #expect(w <= 150 && h <= 150 && w > 0 && h > 0)
            #expect(result.coverWidth == w && result.coverHeight == h)
            #expect(result.metadata.hasCoverArt)
            // SPEC §12: the cover's placeholders (a 320x240 picture: a landscape ThumbHash).
            let placeholder = try #require(result.coverPlaceholder)
            let hash = try #require(Data(base64Encoded: placeholder.thumbhash))
            #expect(hash.count >= 5 && hash[4] & 0x80 != 0)
            #expect(placeholder.dominantColor.hasPrefix("#") && placeholder.dominantColor.count == 7)
        } else {
            #expect(result.coverPath == nil && result.coverPlaceholder == nil)
            #expect(!FileManager.default.fileExists(atPath: outDir + "/" + AudioTranscoder.coverFileName))
        }
    }

    /// Truncated inputs: the whole file made by ffmpeg, then cut to a fraction of its bytes.
    static let truncations: [(name: String, command: String, keep: Double)] = [
        // Xing header says 3 s; decoded duration falls short.
        ("whole.mp3", "\(AudioFixtures.ffmpeg) \(AudioFixtures.sine) -ac 2 -c:a libmp3lame -b:a 128k $OUT", 0.5),
        // WAV data chunk larger than the file / last PCM packet incomplete.
        ("whole.wav", "\(AudioFixtures.ffmpeg) \(AudioFixtures.sine) -ac 2 -c:a pcm_s16le $OUT", 0.5),
        // ADTS: no declared duration; the last frame is cut.
        ("whole.aac", "\(AudioFixtures.ffmpeg) \(AudioFixtures.sine) -ac 2 -c:a aac -f adts $OUT", 0.6),
        // Ogg: no end-of-stream page.
        ("whole.ogg", "\(AudioFixtures.ffmpeg) -f lavfi -i sine=frequency=440:duration=20 -ac 2 -c:a libvorbis $OUT", 0.5),
        // MP4 with the index in front: the sample table promises more than is there.
        ("whole.m4a", "\(AudioFixtures.ffmpeg) \(AudioFixtures.sine) -ac 2 -c:a aac -movflags +faststart $OUT", 0.5),
    ]

    @Test("truncated files fail with decode_failed", arguments: 0..<truncations.count)
    func truncated(_ index: Int) async throws {
        let t = Self.truncations[index]
        let whole = try await AudioFixtures.shared.path(t.name, t.command)
        let input = try await AudioFixtures.shared.path(
            "truncated-" + t.name, "head -c $(( $(stat -c %s '\(whole)') * \(Int(t.keep * 100)) / 100 )) '\(whole)' > $OUT")
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let error = await #expect(throws: AVError.self, "\(t.name) cut to \(t.keep)") {
            try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir) }
        }
        #expect(error?.code == .decodeFailed, "\(t.name): \(String(describing: error))")
        #expect(error?.isInputError == true)
        // Nothing half-made is left behind.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outDir))?.isEmpty ?? true)
    }

    @Test("a raised cancellation flag stops the transcode with cancelled, leaving nothing")
    func cancellation() async throws {
        let c = try #require(AudioCase.all.first { $0.name == "mono.wav" })
        let input = try await AudioFixtures.shared.path(c.name, c.command)
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let error = await #expect(throws: AVError.self) {
            try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir, isCancelled: { true }) }
        }
        #expect(error?.code == .cancelled)
        #expect(error?.isInputError == false)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outDir))?.isEmpty ?? true)
    }

    @Test("random bytes fail with decode_failed")
    func randomBytes() async throws {
        let input = try await AudioFixtures.shared.path("random.mp3", "head -c 40000 /dev/urandom > $OUT")
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let error = await #expect(throws: AVError.self) {
            try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir) }
        }
        #expect(error?.code == .decodeFailed)
    }

    @Test("a file with a picture but no audio fails with no_audio_stream")
    func noAudio() async throws {
        let input = try await AudioFixtures.shared.path(
            "picture-only.mkv", "\(AudioFixtures.ffmpeg) -f lavfi -i testsrc2=size=64x64:duration=1 -c:v mjpeg $OUT")
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let error = await #expect(throws: AVError.self) {
            try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir) }
        }
        #expect(error?.code == .noAudioStream)
    }
}
