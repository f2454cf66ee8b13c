import CAV

/// swresample from whatever a decoder produces to one fixed rate, channel count and sample format. More
/// channels than the target are downmixed with swresample's default matrix (centre and surrounds at -3 dB);
/// inputs without a channel order (a WAV without channel mask) get the default layout for their count.
/// Rebuilds itself when the decoded format changes mid-stream (chained Ogg, ADTS with a new config),
/// draining the old context first so no sample is lost. One thread at a time: it owns C state.
final class AudioResampler {
    let sampleRate: Int32
    let channels: Int32
    let sampleFormat: AVSampleFormat
    private var context: OpaquePointer?
    private var inputKey: InputKey?
    private let converted = Frame()

    private struct InputKey: Equatable {
        var format: Int32
        var rate: Int32
        var channels: Int32
        var mask: UInt64
    }

    init(sampleRate: Int, channels: Int, sampleFormat: AVSampleFormat) {
        self.sampleRate = Int32(sampleRate)
        self.channels = Int32(channels)
        self.sampleFormat = sampleFormat
    }

    deinit { swr_free(&context) }

    /// Converts `frame` (nil: end of stream, drain the filter delay) and calls `sink` with each converted
    /// chunk (a frame in the target format, valid only during the call).
    func convert(_ frame: Frame?, _ sink: (Frame) throws(AVError) -> Void) throws(AVError) {
        if let frame {
            let key = try Self.key(of: frame)
            if key != inputKey || context == nil {
                if context != nil { try run(nil, sink) }
                try configure(for: frame, key: key)
            }
        }
        try run(frame, sink)
    }

    private func run(_ frame: Frame?, _ sink: (Frame) throws(AVError) -> Void) throws(AVError) {
        guard let context else { return }
        let capacity = swr_get_out_samples(context, Int32(frame?.sampleCount ?? 0))
        try AVError.check(capacity, "sizing resampled audio", default: .decodeFailed)
        guard capacity > 0 else { return }
        try converted.allocateAudio(samples: Int(capacity), sampleFormat: sampleFormat.rawValue,
                                    sampleRate: Int(sampleRate), channels: Int(channels))
        let produced = mf_swr_convert_frames(context, converted.pointer, capacity, frame?.pointer)
        try AVError.check(produced, "resampling audio", default: .decodeFailed)
        guard produced > 0 else { return }
        converted.sampleCount = Int(produced)
        try sink(converted)
    }

    private static func key(of frame: Frame) throws(AVError) -> InputKey {
        let f = frame.pointer.pointee
        guard f.ch_layout.nb_channels > 0, f.sample_rate > 0 else {
            throw AVError(.decodeFailed, "decoded audio has no channels or no sample rate")
        }
        return InputKey(format: f.format, rate: f.sample_rate, channels: f.ch_layout.nb_channels,
                        mask: f.ch_layout.order == AV_CHANNEL_ORDER_NATIVE ? f.ch_layout.u.mask : 0)
    }

    private func configure(for frame: Frame, key: InputKey) throws(AVError) {
        swr_free(&context)
        var inLayout = AVChannelLayout()
        defer { av_channel_layout_uninit(&inLayout) }
        if frame.pointer.pointee.ch_layout.order == AV_CHANNEL_ORDER_NATIVE {
            try AVError.check(av_channel_layout_copy(&inLayout, &frame.pointer.pointee.ch_layout),
                              "copying the channel layout", default: .decodeFailed)
        } else {
            av_channel_layout_default(&inLayout, key.channels)
        }
        // av_channel_layout_default stands in for the AV_CHANNEL_LAYOUT_MONO/_STEREO compound literals.
        var outLayout = AVChannelLayout()
        defer { av_channel_layout_uninit(&outLayout) }
        av_channel_layout_default(&outLayout, channels)
        try AVError.check(swr_alloc_set_opts2(
            &context, &outLayout, sampleFormat, sampleRate, &inLayout, AVSampleFormat(key.format), key.rate, 0, nil),
            "configuring the resampler", default: .decodeFailed)
        let status = swr_init(context)
        if status < 0 {
            swr_free(&context)
            throw AVError.libav(status, "configuring the resampler", default: .decodeFailed)
        }
        inputKey = key
    }
}

/// libav's sample FIFO in one format, handing out frames of exactly the encoder's frame size.
final class AudioSampleFIFO {
    private let fifo: OpaquePointer
    let sampleFormat: AVSampleFormat
    let sampleRate: Int
    let channels: Int

    init(sampleRate: Int, channels: Int, sampleFormat: AVSampleFormat) throws(AVError) {
        guard let fifo = av_audio_fifo_alloc(sampleFormat, Int32(channels), 8192) else {
            throw AVError(.outOfMemory, "allocating the audio FIFO")
        }
        self.fifo = fifo
        self.sampleFormat = sampleFormat
        self.sampleRate = sampleRate
        self.channels = channels
    }

    deinit { av_audio_fifo_free(fifo) }

    /// Samples (per channel) waiting.
    var count: Int { Int(av_audio_fifo_size(fifo)) }

    /// Appends all samples of `frame` (which must be in the FIFO's format).
    func write(_ frame: Frame) throws(AVError) {
        let n = Int32(frame.sampleCount)
        guard mf_audio_fifo_write_frame(fifo, frame.pointer, n) == n else {
            throw AVError(.outOfMemory, "growing the audio FIFO")
        }
    }

    /// Moves the next `count` samples (fewer at the end) into `frame`, allocated here; returns how many.
    func read(into frame: Frame, count: Int) throws(AVError) -> Int {
        let n = min(count, self.count)
        try frame.allocateAudio(samples: n, sampleFormat: sampleFormat.rawValue, sampleRate: sampleRate, channels: channels)
        let read = mf_audio_fifo_read_frame(fifo, frame.pointer, Int32(n))
        try AVError.check(read, "reading the audio FIFO", default: .internalError)
        frame.sampleCount = Int(read)
        return Int(read)
    }
}
