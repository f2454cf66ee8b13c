import AudioService
import AV
import Foundation
import MediaDomain
import ServiceKit
import Testing

/// AudioService's processor as the shared worker calls it: renditions as files in the work directory, metadata
/// for `media.ready`, and `MediaError` codes for inputs that cannot work.
@Suite("AudioProcessor")
struct AudioProcessorTests {
    static let pool = BlockingWorkPool(threads: 2, name: "test-libav-audio")

    func job(_ input: String, format: MediaFormat) async throws -> ProcessingJob {
        let work = try await AudioFixtures.shared.outputDirectory()
        let event = MediaUploaded(mediaId: Int64.random(in: 1...1_000_000), generation: 1, userId: 1, fileType: .audio,
                                  format: format, mimeType: format.mimeType, storageKey: "media/x/original.\(format.rawValue)",
                                  fileSize: 1)
        return ProcessingJob(event: event, inputPath: input, workDirectory: work)
    }

    @Test func taggedMP3WithCoverGivesAudioWaveformAndThumbnail() async throws {
        let c = try #require(AudioCase.all.first { $0.hasCover })
        let input = try await AudioFixtures.shared.path(c.name, c.command)
        let job = try await job(input, format: .mp3)
        let output = try await AudioProcessor(pool: Self.pool).process(job)

        let byName = Dictionary(uniqueKeysWithValues: output.renditions.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["audio", "waveform", "thumbnail"])
        #expect(byName["audio"]?.mimeType == "audio/mpeg" && byName["audio"]?.fileExtension == "mp3")
        #expect(byName["waveform"]?.mimeType == "application/json" && byName["waveform"]?.fileExtension == "json")
        #expect(byName["thumbnail"]?.mimeType == "image/jpeg" && byName["thumbnail"]?.fileExtension == "jpg")
        #expect((byName["thumbnail"]?.width ?? 0) <= 150 && (byName["thumbnail"]?.height ?? 0) <= 150)
        for rendition in output.renditions {
            guard case .file(let path) = rendition.content else {
                Issue.record("\(rendition.name) is not a file")
                continue
            }
            #expect(path.hasPrefix(job.workDirectory + "/"))
            #expect(FileManager.default.fileExists(atPath: path))
        }
        #expect(abs((output.duration ?? 0) - 3) <= 0.05)
        #expect((output.bitrate ?? 0) > 0)
        #expect(output.metadata["codec"] == .string("mp3"))
        #expect(output.metadata["sample_rate"] == .int(44_100))
        #expect(output.metadata["channels"] == .int(2))
        #expect(output.metadata["tags"] == .object([
            "title": .string("A Title"), "artist": .string("An Artist"), "album": .string("An Album"),
        ]))
    }

    @Test func wavWithoutCoverHasNoThumbnail() async throws {
        let c = try #require(AudioCase.all.first { $0.name == "mono.wav" })
        let input = try await AudioFixtures.shared.path(c.name, c.command)
        let output = try await AudioProcessor(pool: Self.pool).process(try await job(input, format: .wav))
        #expect(output.renditions.map(\.name).sorted() == ["audio", "waveform"])
        #expect(output.metadata["channels"] == .int(1))
    }

    @Test func truncatedAndGarbageInputsFailWithDecodeFailed() async throws {
        let whole = try await AudioFixtures.shared.path(
            "whole.mp3", "\(AudioFixtures.ffmpeg) \(AudioFixtures.sine) -ac 2 -c:a libmp3lame -b:a 128k $OUT")
        let truncated = try await AudioFixtures.shared.path(
            "truncated.mp3", "head -c $(( $(stat -c %s '\(whole)') / 2 )) '\(whole)' > $OUT")
        let garbage = try await AudioFixtures.shared.path("random.mp3", "head -c 40000 /dev/urandom > $OUT")
        for input in [truncated, garbage] {
            let job = try await job(input, format: .mp3)
            let error = await #expect(throws: MediaError.self) { try await AudioProcessor(pool: Self.pool).process(job) }
            #expect(error?.code == "decode_failed")
        }
    }
}
