import AV
import MediaDomain
import Placeholders
import ServiceKit

/// VideoService's processing: the libav transcoder (or remux) on a dedicated thread, then the `video`,
/// `poster` and `thumbnail` files of SPEC §2 from the job's work directory.
public struct VideoProcessor: MediaProcessor {
    public let fileType = FileType.video
    let pool: BlockingWorkPool
    let options: VideoTranscodeOptions

    /// - Parameter pool: the threads libav runs on (never Swift's cooperative pool); one per worker.
    public init(pool: BlockingWorkPool, options: VideoTranscodeOptions = VideoTranscodeOptions()) {
        self.pool = pool
        self.options = options
    }

    public func process(_ job: ProcessingJob) async throws -> ProcessingOutput {
        let request = VideoTranscodeRequest(
            inputPath: job.inputPath, videoPath: "\(job.workDirectory)/video.mp4",
            posterPath: "\(job.workDirectory)/poster.jpg", thumbnailPath: "\(job.workDirectory)/thumbnail.jpg")
        let options = self.options
        let progress = job.progress
        // The worker cancels the job on timeout or shutdown; the transcoder polls the flag between packets.
        let result = try await pool.runCancellable { isCancelled in
            Result<VideoTranscodeResult, AVError> { () throws(AVError) in
                try VideoTranscoder(options: options).run(request, progress: { progress($0) }, isCancelled: isCancelled)
            }
        }
        switch result {
        case .failure(let error) where error.isInputError:
            throw MediaError(code: error.code.rawValue, message: error.message)
        case .failure(let error) where error.code == .cancelled:
            throw CancellationError()
        case .failure(let error):
            throw error  // I/O, memory, muxer: transient, retried by the worker
        case .success(let r):
            return Self.output(r)
        }
    }

    static func output(_ r: VideoTranscodeResult) -> ProcessingOutput {
        let m = r.metadata
        var metadata: [String: JSONValue] = [
            "video_codec": .string(m.videoCodec),
            "audio_codec": m.audioCodec.map(JSONValue.string) ?? .null,
            "frame_rate": m.frameRate.map { .double(($0 * 1000).rounded() / 1000) } ?? .null,
            "rotation": .int(Int64(m.rotation)),
            "has_audio": .bool(m.hasAudio),
            "container": .string(m.container),
            "remuxed": .bool(r.remuxed),
        ]
        if let pixelFormat = m.pixelFormat { metadata["pixel_format"] = .string(pixelFormat) }
        if let placeholder = r.placeholder { metadata.merge(placeholder.metadataFields) { _, new in new } }
        return ProcessingOutput(
            renditions: [
                ProducedRendition(name: "video", fileExtension: "mp4", mimeType: "video/mp4", width: r.video.width,
                                  height: r.video.height, content: .file(path: r.video.path)),
                ProducedRendition(name: "poster", fileExtension: "jpg", mimeType: "image/jpeg", width: r.poster.width,
                                  height: r.poster.height, content: .file(path: r.poster.path)),
                ProducedRendition(name: "thumbnail", fileExtension: "jpg", mimeType: "image/jpeg",
                                  width: r.thumbnail.width, height: r.thumbnail.height,
                                  content: .file(path: r.thumbnail.path)),
            ],
            width: m.width, height: m.height, duration: m.duration, bitrate: m.bitRate > 0 ? m.bitRate : nil,
            metadata: metadata)
    }
}
