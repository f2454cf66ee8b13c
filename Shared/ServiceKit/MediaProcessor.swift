import Foundation
import MediaDomain

/// What a processor (image, video, audio) implements; everything else — consuming, dedupe, retries,
/// storing renditions, publishing the outcome — is the shared `ProcessingWorker`.
public protocol MediaProcessor: Sendable {
    /// The type whose `media.uploaded` events this processor consumes.
    var fileType: FileType { get }

    /// Makes the renditions of one original. Throw `MediaError` for failures the input causes (corrupt,
    /// too large, unsupported): the media ends `failed` with that code. Any other error is treated as
    /// transient and retried with growing delay.
    func process(_ job: ProcessingJob) async throws -> ProcessingOutput
}

/// One original to process.
public struct ProcessingJob: Sendable {
    public var event: MediaUploaded
    /// A local file holding the original.
    public var inputPath: String
    /// A private scratch directory, removed after the job.
    public var workDirectory: String
    /// Reports progress in percent (0–100); the worker throttles and publishes it.
    public var progress: @Sendable (Double) -> Void

    public init(event: MediaUploaded, inputPath: String, workDirectory: String, progress: @escaping @Sendable (Double) -> Void = { _ in }) {
        self.event = event
        self.inputPath = inputPath
        self.workDirectory = workDirectory
        self.progress = progress
    }
}

/// What processing made and learned.
public struct ProcessingOutput: Sendable {
    public var renditions: [ProducedRendition]
    public var width: Int?
    public var height: Int?
    public var duration: Double?
    public var bitrate: Int64?
    public var metadata: [String: JSONValue]

    public init(renditions: [ProducedRendition], width: Int? = nil, height: Int? = nil, duration: Double? = nil,
                bitrate: Int64? = nil, metadata: [String: JSONValue] = [:]) {
        self.renditions = renditions
        self.width = width
        self.height = height
        self.duration = duration
        self.bitrate = bitrate
        self.metadata = metadata
    }
}

/// One rendition, in memory or in a file of the job's work directory.
public struct ProducedRendition: Sendable {
    public enum Content: Sendable {
        case bytes([UInt8])
        case file(path: String)
    }

    public var name: String
    public var fileExtension: String
    public var mimeType: String
    public var width: Int?
    public var height: Int?
    public var content: Content

    public init(name: String, fileExtension: String, mimeType: String, width: Int?, height: Int?, content: Content) {
        self.name = name
        self.fileExtension = fileExtension
        self.mimeType = mimeType
        self.width = width
        self.height = height
        self.content = content
    }
}
