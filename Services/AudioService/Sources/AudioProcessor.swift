import AV
import MediaDomain
import Placeholders
import ServiceKit

/// AudioService's processing (SPEC §2 audio): one libav pass making the MP3, the waveform JSON and, when the
/// file has cover art, the thumbnail, all as files in the job's work directory.
public struct AudioProcessor: MediaProcessor {
    public let fileType = FileType.audio
    let pool: BlockingWorkPool
    let options: AudioTranscodeOptions

    /// - Parameter pool: the threads libav runs on (never Swift's cooperative pool).
    public init(pool: BlockingWorkPool, options: AudioTranscodeOptions = AudioTranscodeOptions()) {
        self.pool = pool
        self.options = options
    }

    public func process(_ job: ProcessingJob) async throws -> ProcessingOutput {
        let (input, directory, options) = (job.inputPath, job.workDirectory, self.options)
        // The worker cancels the job on its timeout (and removes the work directory): stop libav too, so
        // the pool thread is free again.
        let outcome = try await pool.runCancellable { isCancelled in
            Result<AudioResult, AVError> { () throws(AVError) in
                try AudioTranscoder.transcode(
                    input: input, outputDirectory: directory, options: options, isCancelled: isCancelled)
            }
        }
        switch outcome {
        case .failure(let error) where error.isInputError:
            // Unsupported codecs count as undecodable input for clients: one code, `decode_failed`, unless
            // the file simply has no audio.
            let code = error.code == .noAudioStream ? error.code.rawValue : AVError.Code.decodeFailed.rawValue
            throw MediaError(code: code, message: error.message)
        case .failure(let error):
            throw error  // disk, memory, encoder: transient, retried by the worker
        case .success(let result):
            return Self.output(of: result, options: options)
        }
    }

    static func output(of result: AudioResult, options: AudioTranscodeOptions) -> ProcessingOutput {
        var renditions = [
            ProducedRendition(name: "audio", fileExtension: "mp3", mimeType: "audio/mpeg", width: nil, height: nil,
                              content: .file(path: result.mp3Path)),
            ProducedRendition(name: "waveform", fileExtension: "json", mimeType: "application/json", width: nil,
                              height: nil, content: .file(path: result.waveformPath)),
        ]
        if let cover = result.coverPath {
            renditions.append(ProducedRendition(
                name: "thumbnail", fileExtension: "jpg", mimeType: "image/jpeg", width: result.coverWidth,
                height: result.coverHeight, content: .file(path: cover)))
        }
        let m = result.metadata
        let tags = m.tags.values.mapValues { JSONValue.string($0) }
        var metadata: [String: JSONValue] = [
            "format": .string(m.format),
            "codec": .string(m.codec),
            "sample_rate": .int(Int64(m.sampleRate)),
            "channels": .int(Int64(m.channels)),
            "tags": .object(tags),
            "has_cover_art": .bool(m.hasCoverArt),
            "waveform": .object([
                "length": .int(Int64(result.waveform.length)),
                "samples_per_pixel": .double(result.waveform.samplesPerPixel),
            ]),
            "rendition": .object([
                "codec": .string("mp3"),
                "bitrate": .int(options.bitRate),
                "sample_rate": .int(44_100),
                "channels": .int(Int64(result.mp3Channels)),
            ]),
        ]
        if let placeholder = result.coverPlaceholder { metadata.merge(placeholder.placeholderFields) { _, new in new } }
        return ProcessingOutput(
            renditions: renditions, duration: m.duration, bitrate: m.bitRate > 0 ? m.bitRate : nil, metadata: metadata)
    }
}
