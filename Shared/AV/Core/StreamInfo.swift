import CAV

/// The kind of a stream.
public enum MediaType: Sendable, Hashable {
    case video, audio, subtitle, data, attachment, unknown

    init(_ t: AVMediaType) {
        switch t {
        case AVMEDIA_TYPE_VIDEO: self = .video
        case AVMEDIA_TYPE_AUDIO: self = .audio
        case AVMEDIA_TYPE_SUBTITLE: self = .subtitle
        case AVMEDIA_TYPE_DATA: self = .data
        case AVMEDIA_TYPE_ATTACHMENT: self = .attachment
        default: self = .unknown
        }
    }

    var av: AVMediaType {
        switch self {
        case .video: AVMEDIA_TYPE_VIDEO
        case .audio: AVMEDIA_TYPE_AUDIO
        case .subtitle: AVMEDIA_TYPE_SUBTITLE
        case .data: AVMEDIA_TYPE_DATA
        case .attachment: AVMEDIA_TYPE_ATTACHMENT
        case .unknown: AVMEDIA_TYPE_UNKNOWN
        }
    }
}

/// What the demuxer knows about one stream: codec parameters, timing, tags, rotation, cover art.
public struct StreamInfo: Sendable {
    public var index: Int
    public var mediaType: MediaType
    /// libav's short codec name (`h264`, `aac`, `vp9`, `mjpeg`...).
    public var codecName: String
    /// `AVCodecID` raw value.
    public var codecID: UInt32
    public var profile: Int32
    public var bitRate: Int64
    public var timeBase: Rational
    /// Duration in seconds, when the container says.
    public var duration: Double?
    public var frameCount: Int64
    public var tags: [String: String]

    // Video
    public var width: Int
    public var height: Int
    /// `AVPixelFormat` raw value (-1 when unknown) and its name (`yuv420p`, `yuv420p10le`...).
    public var pixelFormat: Int32
    public var pixelFormatName: String?
    /// Bits per component of the pixel format (8 for yuv420p, 10 for yuv420p10le).
    public var bitDepth: Int
    /// Whether the pixel format is planar 4:2:0 (chroma halved both ways).
    public var isChroma420: Bool
    public var averageFrameRate: Rational
    public var realFrameRate: Rational
    public var sampleAspectRatio: Rational
    /// `AVColorTransferCharacteristic` raw value (16 = PQ, 18 = HLG: HDR).
    public var colorTransfer: UInt32
    /// `AVColorPrimaries`, `AVColorSpace` and `AVColorRange` raw values (0/2 = unspecified).
    public var colorPrimaries: UInt32
    public var colorSpace: UInt32
    public var colorRange: UInt32
    /// Clockwise rotation, in degrees (0, 90, 180, 270), a player must apply to show the picture upright.
    public var rotation: Int
    /// Whether the stream is cover art (`attachedPicture` then holds the encoded image).
    public var isAttachedPicture: Bool
    public var attachedPicture: [UInt8]?

    // Audio
    public var sampleRate: Int
    public var channels: Int
    /// `AVSampleFormat` raw value.
    public var sampleFormat: Int32

    /// Frames per second (average, falling back to the real base rate).
    public var frameRate: Double? { averageFrameRate.value ?? realFrameRate.value }
    /// Width and height as displayed (swapped for 90/270 rotation).
    public var displayWidth: Int { rotation % 180 == 0 ? width : height }
    public var displayHeight: Int { rotation % 180 == 0 ? height : width }
    /// HDR transfer (PQ or HLG).
    public var isHDR: Bool { colorTransfer == AVCOL_TRC_SMPTE2084.rawValue || colorTransfer == AVCOL_TRC_ARIB_STD_B67.rawValue }

    init(_ stream: UnsafeMutablePointer<AVStream>) {
        let s = stream.pointee
        let par = s.codecpar.pointee
        index = Int(s.index)
        mediaType = MediaType(par.codec_type)
        codecName = String(cString: avcodec_get_name(par.codec_id))
        codecID = par.codec_id.rawValue
        profile = par.profile
        bitRate = par.bit_rate
        timeBase = Rational(s.time_base)
        duration = s.duration == noTimestamp || s.duration <= 0 ? nil : timeBase.seconds(s.duration)
        frameCount = s.nb_frames
        tags = AVDictionaryBridge.entries(s.metadata)
        width = Int(par.width)
        height = Int(par.height)
        pixelFormat = par.format
        averageFrameRate = Rational(s.avg_frame_rate)
        realFrameRate = Rational(s.r_frame_rate)
        sampleAspectRatio = Rational(par.sample_aspect_ratio)
        colorTransfer = par.color_trc.rawValue
        colorPrimaries = par.color_primaries.rawValue
        colorSpace = par.color_space.rawValue
        colorRange = par.color_range.rawValue
        sampleRate = Int(par.sample_rate)
        channels = Int(par.ch_layout.nb_channels)
        sampleFormat = par.format
        if mediaType == .video, par.format >= 0, let desc = av_pix_fmt_desc_get(AVPixelFormat(par.format)) {
            pixelFormatName = String(cString: desc.pointee.name)
            bitDepth = Int(desc.pointee.comp.0.depth)
            isChroma420 = desc.pointee.log2_chroma_w == 1 && desc.pointee.log2_chroma_h == 1
                && desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0
        } else {
            pixelFormatName = nil
            bitDepth = 0
            isChroma420 = false
        }
        rotation = Self.rotation(of: stream, tags: tags)
        isAttachedPicture = s.disposition & AV_DISPOSITION_ATTACHED_PIC != 0
        if isAttachedPicture, let data = s.attached_pic.data, s.attached_pic.size > 0 {
            attachedPicture = Array(UnsafeBufferPointer(start: data, count: Int(s.attached_pic.size)))
        } else {
            attachedPicture = nil
        }
    }

    /// Clockwise degrees from the display matrix side data, else the legacy `rotate` tag.
    static func rotation(of stream: UnsafeMutablePointer<AVStream>, tags: [String: String]) -> Int {
        var theta: Double?
        var size: Int = 0
        if let raw = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 {
            let degrees = raw.withMemoryRebound(to: Int32.self, capacity: 9) { av_display_rotation_get($0) }
            if degrees.isFinite { theta = -degrees }  // the matrix angle is counter-clockwise
        }
        if theta == nil, let tag = tags["rotate"], let degrees = Double(tag) { theta = degrees }
        guard let theta else { return 0 }
        let normalized = Int((theta / 90).rounded()) * 90
        return ((normalized % 360) + 360) % 360
    }
}
