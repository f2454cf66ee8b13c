/// A failure of the imaging pipeline, identified by a stable `code` (e.g. `decode_failed`).
public struct ImagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The machine-readable kind of an `ImagingError`; new codes can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case imageTooLarge = "image_too_large"
            case decodeFailed = "decode_failed"
            case unsupportedFormat = "unsupported_format"
            case cancelled
        }

        private let value: Value

        private init(_ value: Value) { self.value = value }

        /// The image has more pixels than `ImageProcessingLimits.maxPixels`; it was not decoded.
        public static var imageTooLarge: Code { Code(.imageTooLarge) }
        /// The file looked like a supported format but could not be decoded (corrupt, truncated, unreadable).
        public static var decodeFailed: Code { Code(.decodeFailed) }
        /// The content is none of JPEG, PNG, GIF, WebP, BMP.
        public static var unsupportedFormat: Code { Code(.unsupportedFormat) }
        /// The work was stopped through `ImagingCancellation` (not the input's fault).
        public static var cancelled: Code { Code(.cancelled) }

        /// The wire form, e.g. `image_too_large`.
        public var rawValue: String { value.rawValue }
        public var description: String { value.rawValue }
    }

    /// What went wrong, as a code callers can switch on.
    public let code: Code
    /// A human-readable explanation (includes the libvips message when there is one).
    public let message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func imageTooLarge(_ message: String) -> ImagingError { ImagingError(code: .imageTooLarge, message: message) }
    static func decodeFailed(_ message: String) -> ImagingError { ImagingError(code: .decodeFailed, message: message) }
    static func unsupportedFormat(_ message: String) -> ImagingError {
        ImagingError(code: .unsupportedFormat, message: message)
    }
    static func cancelled() -> ImagingError { ImagingError(code: .cancelled, message: "image processing was cancelled") }
}
