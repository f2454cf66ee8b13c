import AV
import Foundation
import Testing
import TestSupport

/// Issue 27, defect 0's sweep on audio: degenerate but valid inputs (10 ms, one sample, no samples at all, 8 kHz
/// mono, 1 s of 8 channels at 192 kHz, silence) either become an MP3 and a waveform that ffmpeg reads back, or fail
/// with an input error code: never a crash and never a waveform with NaN or nothing in it.
@Suite("AudioTranscoder: degenerate inputs")
struct DegenerateAudioTests {
    static let ff = AudioFixtures.ffmpeg
    /// Each input, how it is made, and what it must become: the MP3's channels, or "refused <code>".
    static let cases: [(name: String, command: String, expected: String)] = [
        ("10ms.wav", "\(ff) -f lavfi -i sine=duration=0.01 -c:a pcm_s16le $OUT", "1 ch"),
        ("10ms.mp3", "\(ff) -f lavfi -i sine=duration=0.01 -c:a libmp3lame $OUT", "1 ch"),
        ("10ms.ogg", "\(ff) -f lavfi -i sine=duration=0.01 -c:a libvorbis $OUT", "1 ch"),
        ("10ms.m4a", "\(ff) -f lavfi -i sine=duration=0.01 -c:a aac $OUT", "1 ch"),
        ("10ms.flac", "\(ff) -f lavfi -i sine=duration=0.01 -c:a flac $OUT", "1 ch"),
        ("one-sample.wav", "\(ff) -f lavfi -i 'aevalsrc=0.5:s=44100:d=0.00002267' -c:a pcm_s16le $OUT", "1 ch"),
        ("no-samples.wav", "\(ff) -f lavfi -i sine=duration=1 -af atrim=end_sample=0 -c:a pcm_s16le $OUT", "refused decode_failed"),
        ("8k-mono.wav", "\(ff) -f lavfi -i sine=duration=0.5:sample_rate=8000 -ac 1 -c:a pcm_u8 $OUT", "1 ch"),
        ("192k-8ch.wav", "\(ff) -f lavfi -i 'aevalsrc=sin(440*2*PI*t):c=7.1:s=192000:d=1' -c:a pcm_s32le $OUT", "2 ch"),
        ("silence.mp3", "\(ff) -f lavfi -i anullsrc=d=1 -c:a libmp3lame $OUT", "2 ch"),
    ]

    @Test(arguments: 0..<cases.count)
    func aDegenerateInputIsTranscodedOrRefusedWithACode(_ index: Int) async throws {
        let (name, command, expected) = Self.cases[index]
        let input = try await AudioFixtures.shared.path("degenerate-" + name, command)
        let outDir = try await AudioFixtures.shared.outputDirectory()
        let result: AudioResult
        do {
            result = try await offPool { try AudioTranscoder.transcode(input: input, outputDirectory: outDir) }
        } catch let error as AVError {
            #expect(error.isInputError, "\(name): refused with \(error.code.rawValue), an input error: \(error)")
            #expect(expected == "refused \(error.code.rawValue)", "\(name): \(error)")
            return
        }
        let mp3 = try await Probe.of(result.mp3Path)
        #expect(expected == "\(mp3.channels ?? 0) ch", "\(name): \(mp3.channels ?? 0) channels")
        #expect(mp3.codec == "mp3" && mp3.sampleRate == 44_100, "\(name)")
        #expect([1, 2].contains(mp3.channels ?? 0), "\(name)")
        let json = try #require(FileManager.default.contents(atPath: result.waveformPath), "\(name): a waveform")
        let waveform = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let data = try #require(waveform["data"] as? [Double], "\(name): waveform data")
        #expect(!data.isEmpty && data.count % 2 == 0, "\(name): \(data.count) values")
        #expect(data.allSatisfy { $0.isFinite && (-1.0...1.0).contains($0) }, "\(name)")
        #expect(result.metadata.duration.isFinite && result.metadata.duration >= 0, "\(name): \(result.metadata.duration)")
        let errors = outDir + "/decode.log"
        let status = await runShell("ffmpeg -nostdin -v error -i '\(result.mp3Path)' -f null - 2>'\(errors)'")
        let output = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(status == 0 && output.isEmpty, "\(name): ffmpeg reads the MP3 back: \(output)")
    }
}
