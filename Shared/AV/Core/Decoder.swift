import CAV

/// A decoder for one stream of a `MediaInput` (send packets, receive frames). Threads: auto.
public final class Decoder {
    var context: UnsafeMutablePointer<AVCodecContext>?
    /// The time base of the frames' timestamps (the stream's).
    public let timeBase: Rational
    public let streamIndex: Int

    /// Opens the decoder for stream `index` of `input`. `threads` 0 lets libav choose (one per core).
    public init(input: MediaInput, stream index: Int, threads: Int = 0) throws(AVError) {
        guard let stream = input.stream(index), let par = stream.pointee.codecpar else {
            throw AVError(.internalError, "no stream \(index)")
        }
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw AVError(.unsupportedCodec, "no decoder for \(String(cString: avcodec_get_name(par.pointee.codec_id)))")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw AVError(.outOfMemory, "allocating a decoder") }
        context = ctx
        streamIndex = index
        timeBase = Rational(stream.pointee.time_base)
        try AVError.check(avcodec_parameters_to_context(ctx, par), "configuring the decoder", default: .decodeFailed)
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = Int32(threads)
        if par.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            ctx.pointee.framerate = av_guess_frame_rate(nil, stream, nil)
        }
        try AVError.check(avcodec_open2(ctx, codec, nil), "opening the \(String(cString: codec.pointee.name)) decoder",
                          default: .decodeFailed)
    }

    deinit { avcodec_free_context(&context) }

    public var width: Int { Int(context?.pointee.width ?? 0) }
    public var height: Int { Int(context?.pointee.height ?? 0) }
    /// `AVPixelFormat` (video) or `AVSampleFormat` (audio) raw value.
    public var format: Int32 {
        guard let c = context?.pointee else { return -1 }
        return c.codec_type == AVMEDIA_TYPE_AUDIO ? c.sample_fmt.rawValue : c.pix_fmt.rawValue
    }
    public var sampleRate: Int { Int(context?.pointee.sample_rate ?? 0) }
    public var channels: Int { Int(context?.pointee.ch_layout.nb_channels ?? 0) }

    /// Sends a packet (nil: end of stream, drain). Corrupt data throws `.decodeFailed`.
    public func send(_ packet: Packet?) throws(AVError) {
        let result = avcodec_send_packet(context, packet?.pointer)
        if result == mf_averror_eof() || result == mf_averror_eagain() { return }
        try AVError.check(result, "decoding", default: .decodeFailed)
    }

    /// Receives the next frame into `frame`; false when the decoder needs more input or is drained.
    public func receive(into frame: Frame) throws(AVError) -> Bool {
        let result = avcodec_receive_frame(context, frame.pointer)
        if result == mf_averror_eagain() || result == mf_averror_eof() { return false }
        try AVError.check(result, "decoding", default: .decodeFailed)
        return true
    }

    /// Sends `packet` (nil drains) and calls `body` with each frame that comes out.
    public func decode(_ packet: Packet?, into frame: Frame, _ body: (Frame) throws(AVError) -> Void) throws(AVError) {
        try send(packet)
        while try receive(into: frame) {
            try body(frame)
            frame.unref()
        }
    }

    /// Skip frames no other frame refers to (B-frames mostly): about half the work when only a later frame
    /// matters (seeking forward to a poster). Can change between packets.
    public var skipsNonReferenceFrames: Bool {
        get { context?.pointee.skip_frame == AVDISCARD_NONREF }
        set { context?.pointee.skip_frame = newValue ? AVDISCARD_NONREF : AVDISCARD_DEFAULT }
    }

    /// Forgets buffered frames (after a seek).
    public func flush() { avcodec_flush_buffers(context) }
}
