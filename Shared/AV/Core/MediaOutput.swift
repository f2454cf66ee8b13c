import CAV

/// A muxer writing a file: add streams (from encoders or copied from an input), write the header with
/// options (`movflags=+faststart`), write packets interleaved, finish with the trailer.
public final class MediaOutput {
    var context: UnsafeMutablePointer<AVFormatContext>?
    public let path: String
    private var sourceTimeBases: [Rational] = []
    private var headerWritten = false
    private var finished = false

    /// Prepares `path`; the container comes from `format` (`mp4`, `mjpeg`...) or the file extension.
    public init(path: String, format: String? = nil) throws(AVError) {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let result = avformat_alloc_output_context2(&ctx, nil, format, path)
        guard result >= 0, let ctx else {
            throw AVError.libav(result, "creating the \(format ?? path) muxer", default: .muxFailed)
        }
        context = ctx
        self.path = path
    }

    deinit {
        guard let ctx = context else { return }
        // Unfinished (an error or cancellation): no trailer, the file is abandoned; the muxer's deinit frees its state.
        if ctx.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&ctx.pointee.pb) }
        avformat_free_context(ctx)
    }

    /// Whether encoders for this container need `globalHeader` (MP4 and MOV do).
    public var needsGlobalHeader: Bool { (context?.pointee.oformat.pointee.flags ?? 0) & AVFMT_GLOBALHEADER != 0 }

    /// Adds a stream fed by `encoder`; returns its index.
    public func addStream(encoder: Encoder) throws(AVError) -> Int {
        let stream = try newStream()
        try AVError.check(avcodec_parameters_from_context(stream.pointee.codecpar, encoder.context),
                          "copying encoder parameters", default: .muxFailed)
        stream.pointee.time_base = encoder.timeBase.av
        sourceTimeBases.append(encoder.timeBase)
        return Int(stream.pointee.index)
    }

    /// Adds a stream whose packets are copied from stream `index` of `input` (remux); returns its index.
    public func addStream(copying index: Int, of input: MediaInput) throws(AVError) -> Int {
        guard let source = input.stream(index) else { throw AVError(.internalError, "no input stream \(index)") }
        let stream = try newStream()
        try AVError.check(avcodec_parameters_copy(stream.pointee.codecpar, source.pointee.codecpar),
                          "copying stream parameters", default: .muxFailed)
        stream.pointee.codecpar.pointee.codec_tag = 0  // let the muxer pick the tag valid for its container
        stream.pointee.time_base = source.pointee.time_base
        stream.pointee.sample_aspect_ratio = source.pointee.sample_aspect_ratio
        stream.pointee.avg_frame_rate = source.pointee.avg_frame_rate
        if let language = input.streams[index].tags["language"] { av_dict_set(&stream.pointee.metadata, "language", language, 0) }
        sourceTimeBases.append(Rational(source.pointee.time_base))
        return Int(stream.pointee.index)
    }

    private func newStream() throws(AVError) -> UnsafeMutablePointer<AVStream> {
        guard let ctx = context, let stream = avformat_new_stream(ctx, nil) else {
            throw AVError(.outOfMemory, "adding an output stream")
        }
        return stream
    }

    /// Opens the file and writes the header. `options` are muxer options, e.g. `["movflags": "+faststart"]`.
    public func writeHeader(options: [String: String] = [:]) throws(AVError) {
        guard let ctx = context else { return }
        if ctx.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            try AVError.check(avio_open(&ctx.pointee.pb, path, AVIO_FLAG_WRITE), "opening \(path) for writing",
                              default: .muxFailed)
        }
        _ = try AVDictionaryBridge.with(options) { dict throws(AVError) in
            try AVError.check(avformat_write_header(ctx, dict), "writing the header of \(path)", default: .muxFailed)
        }
        headerWritten = true
    }

    /// Time base of an output stream (final once the header is written).
    public func timeBase(ofStream index: Int) -> Rational {
        guard let ctx = context, let s = ctx.pointee.streams[index] else { return Rational(1, 1) }
        return Rational(s.pointee.time_base)
    }

    /// Writes `packet` to output stream `stream`, converting its timestamps from `timeBase` (defaults to the
    /// time base the stream was created with: the encoder's or the copied input stream's). Takes the data.
    public func write(_ packet: Packet, toStream stream: Int, from timeBase: Rational? = nil) throws(AVError) {
        guard let ctx = context else { return }
        packet.streamIndex = stream
        packet.rescaleTimestamps(from: timeBase ?? sourceTimeBases[stream], to: self.timeBase(ofStream: stream))
        packet.pointer.pointee.pos = -1
        try AVError.check(av_interleaved_write_frame(ctx, packet.pointer), "writing a packet", default: .muxFailed)
    }

    /// Flushes interleaving queues, writes the trailer (for MP4 fast start: moves the index to the front)
    /// and closes the file.
    public func finish() throws(AVError) {
        guard let ctx = context, headerWritten, !finished else { return }
        finished = true
        try AVError.check(av_write_trailer(ctx), "finishing \(path)", default: .muxFailed)
        if ctx.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&ctx.pointee.pb) }
    }
}
