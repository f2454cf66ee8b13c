import CAV

/// A libav failure: what was being done, the libav error code, and its `av_strerror` text.
/// `code` tells input-caused failures (`decodeFailed`, `noVideoStream`, ...) from the rest.
public struct AVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; new kinds can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case openFailed = "open_failed"
            case decodeFailed = "decode_failed"
            case noVideoStream = "no_video_stream"
            case noAudioStream = "no_audio_stream"
            case unsupportedCodec = "unsupported_codec"
            case encodeFailed = "encode_failed"
            case muxFailed = "mux_failed"
            case cancelled = "cancelled"
            case outOfMemory = "out_of_memory"
            case internalError = "internal_error"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The input cannot be opened for a reason that is not its content (missing file, I/O).
        public static let openFailed = Code(.openFailed)
        /// The input is corrupt, truncated or not a media file.
        public static let decodeFailed = Code(.decodeFailed)
        /// The input has no (usable) video stream.
        public static let noVideoStream = Code(.noVideoStream)
        /// The input has no audio stream.
        public static let noAudioStream = Code(.noAudioStream)
        /// No decoder or encoder for a codec.
        public static let unsupportedCodec = Code(.unsupportedCodec)
        /// An encoder refused its settings or a frame.
        public static let encodeFailed = Code(.encodeFailed)
        /// The muxer or the output file failed (disk full, bad parameters).
        public static let muxFailed = Code(.muxFailed)
        /// The caller's cancellation flag was raised.
        public static let cancelled = Code(.cancelled)
        /// libav could not allocate.
        public static let outOfMemory = Code(.outOfMemory)
        /// A bug or an unexpected libav state.
        public static let internalError = Code(.internalError)

        /// The snake_case name, used as `media.failed` `error.code`.
        public var rawValue: String { value.rawValue }
        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What was being done, plus libav's explanation when there is one.
    public let message: String
    /// The negative libav error number, when the failure came from libav.
    public let averror: Int32?

    /// An error of `code`; `averror` is the libav number when there is one.
    public init(_ code: Code, _ message: String, averror: Int32? = nil) {
        self.code = code
        self.message = message
        self.averror = averror
    }

    /// Whether the input itself caused the failure (report it, do not retry).
    public var isInputError: Bool {
        [Code.decodeFailed, .noVideoStream, .noAudioStream, .unsupportedCodec].contains(code)
    }

    public var description: String { "\(code): \(message)" }

    /// `av_strerror` text of an error number.
    public static func text(of errnum: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(errnum, &buffer, buffer.count) < 0 { return "libav error \(errnum)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An error for a failed libav call, with `code` unless the number says the data is bad.
    static func libav(_ errnum: Int32, _ what: String, default code: Code) -> AVError {
        let classified: Code
        switch errnum {
        case mf_averror_invaliddata(), mf_averror_demuxer_not_found(), mf_averror_eof():
            classified = code == .openFailed || code == .decodeFailed ? .decodeFailed : code
        case mf_averror_decoder_not_found(), mf_averror_encoder_not_found():
            classified = .unsupportedCodec
        case mf_averror(ENOMEM):
            classified = .outOfMemory
        default:
            classified = code
        }
        return AVError(classified, "\(what): \(text(of: errnum))", averror: errnum)
    }

    /// Throws when `result` is a libav error; returns it otherwise.
    @discardableResult
    static func check(_ result: Int32, _ what: @autoclosure () -> String, default code: Code) throws(AVError) -> Int32 {
        if result < 0 { throw libav(result, what(), default: code) }
        return result
    }
}
