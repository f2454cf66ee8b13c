import AV
import Foundation
import MediaDomain
import ServiceCore
import ServiceKit
import Synchronization
import TestSupport
import Testing
import VideoService

/// The VideoService glue: the processor on its blocking pool, error mapping, configuration.
@Suite("VideoService", .serialized)
struct VideoServiceGlueTests {
    static let pool = BlockingWorkPool(threads: 1, name: "test-libav")

    func job(_ input: String, work: String, progress: @escaping @Sendable (Double) -> Void = { _ in }) -> ProcessingJob {
        let event = MediaUploaded(mediaId: 1, generation: 1, userId: 1, fileType: .video, format: .mp4,
                                  mimeType: "video/mp4", storageKey: "originals/x/original.mp4", fileSize: 1)
        return ProcessingJob(event: event, inputPath: input, workDirectory: work, progress: progress)
    }

    @Test func makesThreeFileRenditionsWithMetadata() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try await VideoFixtures.clip("in.webm", in: dir, video: "-c:v libvpx -deadline realtime -cpu-used 8",
                                                 audio: "-c:a libvorbis")
        let percents = Percents()
        let output = try await VideoProcessor(pool: Self.pool).process(job(input, work: dir) { percents.add($0) })
        #expect(output.renditions.map(\.name).sorted() == ["poster", "thumbnail", "video"])
        for r in output.renditions {
            guard case .file(let path) = r.content else { Issue.record("\(r.name) not a file"); continue }
            #expect(path.hasPrefix(dir) && FileManager.default.fileExists(atPath: path))
        }
        #expect(output.width == 320 && output.height == 240)
        #expect(output.duration.map { abs($0 - 1) < 0.1 } == true)
        #expect(output.metadata["video_codec"] == .string("vp8"))
        #expect(output.metadata["has_audio"] == .bool(true))
        #expect(output.metadata["remuxed"] == .bool(false))
        #expect(percents.values.last == 100)
    }

    @Test func corruptInputIsAMediaErrorNotARetry() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/garbage.mp4"
        // The same bytes every run: random ones were now and then probed as an audio format (no_video_stream), a flake.
        _ = FileManager.default.createFile(atPath: path, contents: VideoFixtures.noise(count: 100_000))
        await #expect(throws: MediaError.self) {
            _ = try await VideoProcessor(pool: Self.pool).process(job(path, work: dir))
        }
        do {
            _ = try await VideoProcessor(pool: Self.pool).process(job(path, work: dir))
        } catch let error as MediaError {
            #expect(error.code == "decode_failed")
        }
    }

    @Test func cancellingTheTaskStopsTheTranscode() async throws {
        let dir = try VideoFixtures.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Quick to make, slow to transcode (x264 medium at 720p): minutes of work if nothing stopped it.
        let input = try await VideoFixtures.clip(
            "in.avi", in: dir, size: "1280x720", duration: 10, video: "-c:v mjpeg -q:v 10", audio: nil)
        let percents = Percents()
        let task = Task { try await VideoProcessor(pool: Self.pool).process(job(input, work: dir) { percents.add($0) }) }
        // Cancelled once the transcode reported progress: mid-job, not before it began.
        try #require(await eventually(timeout: .seconds(60), interval: .milliseconds(10)) { !percents.values.isEmpty },
                     "the transcode reported progress")
        task.cancel()
        let cancelled = ContinuousClock.now
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(cancelled.duration(to: .now) < .seconds(2), "stopped \(cancelled.duration(to: .now)) after cancel")
    }

    @Test func configurationDefaults() throws {
        let env = Environment(["MEDIA_DATABASE_URL": "postgres://u@localhost/db"])
        let c = try VideoServiceConfiguration(environment: env)
        #expect(c.opsPort == 9102 && c.workers == 1 && c.jobTimeout == .seconds(1800))
        let custom = try VideoServiceConfiguration(environment: Environment([
            "MEDIA_VIDEO_WORKERS": "3", "MEDIA_VIDEO_JOB_TIMEOUT": "60", "MEDIA_OPS_PORT": "9200",
        ]))
        #expect(custom.workers == 3 && custom.jobTimeout == .seconds(60) && custom.opsPort == 9200)
        #expect(throws: ConfigurationError.self) {
            try VideoServiceConfiguration(environment: Environment(["MEDIA_VIDEO_WORKERS": "0"]))
        }
    }
}

final class Percents: Sendable {
    private let storage = Mutex<[Double]>([])
    var values: [Double] { storage.withLock { $0 } }
    func add(_ value: Double) { storage.withLock { $0.append(value) } }
}
