import CAV

/// How to open a video encoder.
public struct VideoEncoderSettings: Sendable {
    /// libav encoder name (`libx264`, `mjpeg`...).
    public var codecName: String
    public var width: Int
    public var height: Int
    /// `AVPixelFormat` raw value (see `PixelFormat`).
    public var pixelFormat: Int32
    public var timeBase: Rational
    public var frameRate: Rational?
    public var sampleAspectRatio: Rational?
    public var bitRate: Int64?
    /// Encoder private options (`crf`, `preset`, `qscale`...), set with `av_opt_set` semantics.
    public var options: [String: String]
    /// Codec flags (`qscale` for mjpeg's fixed quality) and `global_quality`.
    public var globalQuality: Int32?
    public var threads: Int
    /// Colour description to tag the stream with (`AVColorPrimaries`, `AVColorTransferCharacteristic`,
    /// `AVColorSpace` raw values); nil leaves them unspecified.
    public var colorPrimaries: UInt32?
    public var colorTransfer: UInt32?
    public var colorSpace: UInt32?
    /// Whether the muxer wants codec headers in extradata (MP4 does): `MediaOutput.needsGlobalHeader`.
    public var globalHeader: Bool

    public init(codecName: String, width: Int, height: Int, pixelFormat: Int32, timeBase: Rational,
                frameRate: Rational? = nil, sampleAspectRatio: Rational? = nil, bitRate: Int64? = nil,
                options: [String: String] = [:], globalQuality: Int32? = nil, threads: Int = 0, globalHeader: Bool = false) {
        self.codecName = codecName
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.timeBase = timeBase
        self.frameRate = frameRate
        self.sampleAspectRatio = sampleAspectRatio
        self.bitRate = bitRate
        self.options = options
        self.globalQuality = globalQuality
        self.threads = threads
        self.globalHeader = globalHeader
    }
}

/// How to open an audio encoder.
public struct AudioEncoderSettings: Sendable {
    public var codecName: String
    public var sampleRate: Int
    public var channels: Int
    /// `AVSampleFormat` raw value; nil takes the encoder's first supported format.
    public var sampleFormat: Int32?
    public var bitRate: Int64
    public var options: [String: String]
    public var globalHeader: Bool

    public init(codecName: String, sampleRate: Int, channels: Int, sampleFormat: Int32? = nil, bitRate: Int64,
                options: [String: String] = [:], globalHeader: Bool = false) {
        self.codecName = codecName
        self.sampleRate = sampleRate
        self.channels = channels
        self.sampleFormat = sampleFormat
        self.bitRate = bitRate
        self.options = options
        self.globalHeader = globalHeader
    }
}

/// An encoder (send frames, receive packets). Frames' pts must be in `timeBase`.
public final class Encoder {
    var context: UnsafeMutablePointer<AVCodecContext>?
    public let timeBase: Rational

    /// Opens a video encoder.
    public init(video s: VideoEncoderSettings) throws(AVError) {
        let (codec, ctx) = try Self.allocate(s.codecName)
        context = ctx
        ctx.pointee.width = Int32(s.width)
        ctx.pointee.height = Int32(s.height)
        ctx.pointee.pix_fmt = AVPixelFormat(s.pixelFormat)
        ctx.pointee.time_base = s.timeBase.av
        if let fr = s.frameRate { ctx.pointee.framerate = fr.av }
        if let sar = s.sampleAspectRatio { ctx.pointee.sample_aspect_ratio = sar.av }
        if let br = s.bitRate { ctx.pointee.bit_rate = br }
        if let v = s.colorPrimaries { ctx.pointee.color_primaries = AVColorPrimaries(v) }
        if let v = s.colorTransfer { ctx.pointee.color_trc = AVColorTransferCharacteristic(v) }
        if let v = s.colorSpace { ctx.pointee.colorspace = AVColorSpace(v) }
        if let q = s.globalQuality {
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            ctx.pointee.global_quality = q
        }
        ctx.pointee.thread_count = Int32(s.threads)
        if s.globalHeader { ctx.pointee.flags |= mf_codec_flag_global_header() }
        timeBase = s.timeBase
        try Self.open(ctx, codec, s.options)
    }

    /// Opens an audio encoder.
    public init(audio s: AudioEncoderSettings) throws(AVError) {
        let (codec, ctx) = try Self.allocate(s.codecName)
        context = ctx
        ctx.pointee.sample_rate = Int32(s.sampleRate)
        av_channel_layout_default(&ctx.pointee.ch_layout, Int32(s.channels))
        if let f = s.sampleFormat {
            ctx.pointee.sample_fmt = AVSampleFormat(f)
        } else if let formats = codec.pointee.sample_fmts {
            ctx.pointee.sample_fmt = formats[0]
        }
        ctx.pointee.bit_rate = s.bitRate
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(s.sampleRate))
        if s.globalHeader { ctx.pointee.flags |= mf_codec_flag_global_header() }
        timeBase = Rational(1, Int32(s.sampleRate))
        try Self.open(ctx, codec, s.options)
    }

    private static func allocate(_ name: String) throws(AVError) -> (UnsafePointer<AVCodec>, UnsafeMutablePointer<AVCodecContext>) {
        guard let codec = avcodec_find_encoder_by_name(name) else { throw AVError(.unsupportedCodec, "no encoder \(name)") }
        guard let ctx = avcodec_alloc_context3(codec) else { throw AVError(.outOfMemory, "allocating the \(name) encoder") }
        return (codec, ctx)
    }

    private static func open(_ ctx: UnsafeMutablePointer<AVCodecContext>, _ codec: UnsafePointer<AVCodec>,
                             _ options: [String: String]) throws(AVError) {
        let name = String(cString: codec.pointee.name)
        _ = try AVDictionaryBridge.with(options) { dict throws(AVError) in
            try AVError.check(avcodec_open2(ctx, codec, dict), "opening the \(name) encoder", default: .encodeFailed)
        }
    }

    deinit { avcodec_free_context(&context) }

    /// Samples per frame the audio encoder wants (0: any).
    public var frameSize: Int { Int(context?.pointee.frame_size ?? 0) }
    /// `AVSampleFormat` raw value of an audio encoder.
    public var sampleFormat: Int32 { context?.pointee.sample_fmt.rawValue ?? -1 }
    public var sampleRate: Int { Int(context?.pointee.sample_rate ?? 0) }
    public var channels: Int { Int(context?.pointee.ch_layout.nb_channels ?? 0) }
    public var width: Int { Int(context?.pointee.width ?? 0) }
    public var height: Int { Int(context?.pointee.height ?? 0) }

    /// Sends a frame (nil: end of stream, drain).
    public func send(_ frame: Frame?) throws(AVError) {
        let result = avcodec_send_frame(context, frame?.pointer)
        if result == mf_averror_eof() { return }
        try AVError.check(result, "encoding", default: .encodeFailed)
    }

    /// Receives the next packet; false when the encoder needs more input or is drained.
    public func receive(into packet: Packet) throws(AVError) -> Bool {
        let result = avcodec_receive_packet(context, packet.pointer)
        if result == mf_averror_eagain() || result == mf_averror_eof() { return false }
        try AVError.check(result, "encoding", default: .encodeFailed)
        return true
    }

    /// Sends `frame` (nil drains) and calls `body` with each packet that comes out.
    public func encode(_ frame: Frame?, into packet: Packet, _ body: (Packet) throws(AVError) -> Void) throws(AVError) {
        try send(frame)
        while try receive(into: packet) {
            try body(packet)
            packet.unref()
        }
    }
}
