import Placeholders

/// Settings of the video renditions (SPEC §2 defaults).
public struct VideoTranscodeOptions: Sendable {
    /// The box the video fits in (turned to the picture's orientation).
    public var maxLongSide = 1920
    public var maxShortSide = 1080
    public var crf = 23
    /// x264 preset: `medium` is what the ffmpeg CLI uses when none is given.
    public var preset = "medium"
    public var audioBitRate: Int64 = 128_000
    public var posterLongSide = 1280
    public var posterShortSide = 720
    public var thumbnailSide = 150
    /// The poster is the frame at this time (the middle when the video is shorter).
    public var posterTime = 1.0
    /// Copy H.264/AAC sources that already fit instead of re-encoding them.
    public var allowRemux = true
    /// Encoder threads (0: libav chooses, like the CLI).
    public var threads = 0

    public init() {}
}

/// Where to write the three renditions.
public struct VideoTranscodeRequest: Sendable {
    public var inputPath: String
    public var videoPath: String
    public var posterPath: String
    public var thumbnailPath: String

    public init(inputPath: String, videoPath: String, posterPath: String, thumbnailPath: String) {
        self.inputPath = inputPath
        self.videoPath = videoPath
        self.posterPath = posterPath
        self.thumbnailPath = thumbnailPath
    }
}

/// What the source is, as `media.ready` reports it.
public struct VideoMetadata: Sendable, Equatable {
    /// Seconds.
    public var duration: Double?
    /// bit/s of the whole source.
    public var bitRate: Int64
    /// As displayed (rotation applied).
    public var width: Int
    public var height: Int
    public var videoCodec: String
    public var audioCodec: String?
    public var frameRate: Double?
    /// Clockwise degrees the source asked players to turn it.
    public var rotation: Int
    public var hasAudio: Bool
    public var pixelFormat: String?
    public var container: String
}

/// One file written by the transcoder.
public struct VideoRenditionFile: Sendable, Equatable {
    public var path: String
    public var width: Int
    public var height: Int
}

/// The outcome of a transcode.
public struct VideoTranscodeResult: Sendable {
    public var metadata: VideoMetadata
    public var video: VideoRenditionFile
    public var poster: VideoRenditionFile
    public var thumbnail: VideoRenditionFile
    /// Whether the source was copied into MP4 (remux fast path) rather than re-encoded.
    public var remuxed: Bool
    /// Output has an audio stream.
    public var outputHasAudio: Bool
    /// Source time (seconds) of the frame the poster and thumbnail show.
    public var posterSeconds: Double
    /// ThumbHash and dominant colour of the poster (nil when they could not be made; never a failure).
    public var placeholder: ImagePlaceholder?
}
