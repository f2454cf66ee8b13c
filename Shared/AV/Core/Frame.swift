import CAV

/// An owned `AVFrame`, freed on deinit (video or audio). Decoders fill it; scalers and resamplers write it.
public final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>

    public init() {
        guard let p = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = p
    }

    private init(owning p: UnsafeMutablePointer<AVFrame>) { pointer = p }

    /// A new frame referencing the same buffers (no pixel copy); nil when out of memory.
    public func clone() -> Frame? { av_frame_clone(pointer).map { Frame(owning: $0) } }

    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }

    public var width: Int { Int(pointer.pointee.width) }
    public var height: Int { Int(pointer.pointee.height) }
    /// `AVPixelFormat` (video) or `AVSampleFormat` (audio) raw value.
    public var format: Int32 { pointer.pointee.format }
    public var pixelFormatName: String? { av_get_pix_fmt_name(AVPixelFormat(format)).map { String(cString: $0) } }
    public var pts: Int64 {
        get { pointer.pointee.pts }
        set { pointer.pointee.pts = newValue }
    }
    /// The best-effort timestamp libav computed (falls back to pts).
    public var bestEffortTimestamp: Int64 {
        let t = pointer.pointee.best_effort_timestamp
        return t == noTimestamp ? pointer.pointee.pts : t
    }
    public var sampleCount: Int {
        get { Int(pointer.pointee.nb_samples) }
        set { pointer.pointee.nb_samples = Int32(newValue) }
    }
    public var sampleRate: Int { Int(pointer.pointee.sample_rate) }
    public var channelCount: Int { Int(pointer.pointee.ch_layout.nb_channels) }

    /// Allocates buffers for a video frame of this size and `AVPixelFormat`.
    public func allocateVideo(width: Int, height: Int, pixelFormat: Int32) throws(AVError) {
        av_frame_unref(pointer)
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        pointer.pointee.format = pixelFormat
        try AVError.check(av_frame_get_buffer(pointer, 0), "allocating a \(width)x\(height) frame", default: .outOfMemory)
    }

    /// Allocates buffers for `samples` audio samples in this format, rate and channel count (default layout).
    public func allocateAudio(samples: Int, sampleFormat: Int32, sampleRate: Int, channels: Int) throws(AVError) {
        av_frame_unref(pointer)
        pointer.pointee.nb_samples = Int32(samples)
        pointer.pointee.format = sampleFormat
        pointer.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&pointer.pointee.ch_layout, Int32(channels))
        try AVError.check(av_frame_get_buffer(pointer, 0), "allocating \(samples) audio samples", default: .outOfMemory)
    }

    /// Makes the buffers writable (copies them if a decoder or encoder still references them).
    public func makeWritable() throws(AVError) {
        try AVError.check(av_frame_make_writable(pointer), "making a frame writable", default: .outOfMemory)
    }

    /// Drops the data (the frame can be reused).
    public func unref() { av_frame_unref(pointer) }
}
