import CAV

/// The audio leg of a video transcode: decode → swresample (keep the rate when AAC supports it; mono stays
/// mono, more channels become stereo) → sample FIFO (the encoder wants exact frame sizes) → AAC.
final class SoundtrackEncoder {
    let decoder: Decoder
    let encoder: Encoder
    private let fifo: OpaquePointer
    private var resampler: OpaquePointer?
    private var resamplerKey: [Int64] = []
    private let decoded = Frame()
    private let converted = Frame()
    private let chunk = Frame()
    private let packet = Packet()
    /// Next output pts, in 1/sampleRate; set from the first decoded frame.
    private var nextPts: Int64?
    private let startSeconds: Double

    private static let aacRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    /// - Parameter startSeconds: the input's start time, subtracted so audio and video both start near 0.
    init(input: MediaInput, stream: StreamInfo, bitRate: Int64, globalHeader: Bool, startSeconds: Double) throws(AVError) {
        decoder = try Decoder(input: input, stream: stream.index, threads: 1)
        let rate = Self.aacRates.contains(stream.sampleRate) ? stream.sampleRate : 48000
        encoder = try Encoder(audio: AudioEncoderSettings(
            codecName: "aac", sampleRate: rate, channels: stream.channels == 1 ? 1 : 2, bitRate: bitRate,
            globalHeader: globalHeader))
        guard let fifo = av_audio_fifo_alloc(AVSampleFormat(encoder.sampleFormat), Int32(encoder.channels), 4096) else {
            throw AVError(.outOfMemory, "allocating the audio FIFO")
        }
        self.fifo = fifo
        self.startSeconds = startSeconds
    }

    deinit {
        swr_free(&resampler)
        av_audio_fifo_free(fifo)
    }

    /// Decodes `packet` (nil: end of stream, drain everything) and hands each AAC packet to `emit`
    /// (timestamps in `encoder.timeBase`).
    func feed(_ packet: Packet?, emit: (Packet) throws(AVError) -> Void) throws(AVError) {
        // A damaged audio packet is skipped (a click), as the ffmpeg CLI does; it does not fail the video.
        do { try decoder.send(packet) } catch where error.code == .decodeFailed {}
        while true {
            let got: Bool
            do { got = try decoder.receive(into: decoded) } catch where error.code == .decodeFailed { break }
            guard got else { break }
            defer { decoded.unref() }
            try convert(decoded)
            try encodeFull(emit: emit)
        }
        if packet == nil {
            if resampler != nil { try convert(nil) }
            try encodeFull(emit: emit)
            if av_audio_fifo_size(fifo) > 0 { try encodeChunk(Int(av_audio_fifo_size(fifo)), emit: emit) }
            try encoder.encode(nil, into: self.packet, emit)
        }
    }

    private func convert(_ frame: Frame?) throws(AVError) {
        if let frame {
            try configure(for: frame)
            if nextPts == nil {
                let ts = frame.bestEffortTimestamp
                let seconds = ts == noTimestamp ? 0 : decoder.timeBase.seconds(ts) - startSeconds
                nextPts = max(0, Int64((seconds * Double(encoder.sampleRate)).rounded()))
            }
        }
        guard let resampler else { return }
        let capacity = swr_get_out_samples(resampler, Int32(frame?.sampleCount ?? 0)) + 32
        guard capacity > 0 else { return }
        try converted.allocateAudio(samples: Int(capacity), sampleFormat: encoder.sampleFormat,
                                    sampleRate: encoder.sampleRate, channels: encoder.channels)
        let produced = mf_swr_convert_frames(resampler, converted.pointer, capacity, frame?.pointer)
        try AVError.check(produced, "resampling audio", default: .decodeFailed)
        if produced > 0, mf_audio_fifo_write_frame(fifo, converted.pointer, produced) < produced {
            throw AVError(.outOfMemory, "growing the audio FIFO")
        }
    }

    /// (Re)creates the resampler when the decoded format, rate or layout changes.
    private func configure(for frame: Frame) throws(AVError) {
        let f = frame.pointer
        let key: [Int64] = [Int64(f.pointee.format), Int64(f.pointee.sample_rate), Int64(f.pointee.ch_layout.nb_channels),
                            Int64(truncatingIfNeeded: f.pointee.ch_layout.u.mask)]
        guard key != resamplerKey else { return }
        swr_free(&resampler)
        var inLayout = AVChannelLayout()
        if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&f.pointee.ch_layout) == 0 {
            av_channel_layout_default(&inLayout, max(1, f.pointee.ch_layout.nb_channels))
        } else {
            _ = av_channel_layout_copy(&inLayout, &f.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, Int32(encoder.channels))
        defer { av_channel_layout_uninit(&outLayout) }
        var swr: OpaquePointer? = nil
        try AVError.check(swr_alloc_set_opts2(
            &swr, &outLayout, AVSampleFormat(encoder.sampleFormat), Int32(encoder.sampleRate),
            &inLayout, AVSampleFormat(f.pointee.format), f.pointee.sample_rate, 0, nil), "configuring the resampler",
            default: .decodeFailed)
        let initialized = swr_init(swr)
        if initialized < 0 {
            swr_free(&swr)
            throw AVError.libav(initialized, "configuring the resampler", default: .decodeFailed)
        }
        resampler = swr
        resamplerKey = key
    }

    private func encodeFull(emit: (Packet) throws(AVError) -> Void) throws(AVError) {
        let size = max(1, encoder.frameSize)
        while av_audio_fifo_size(fifo) >= size { try encodeChunk(size, emit: emit) }
    }

    private func encodeChunk(_ samples: Int, emit: (Packet) throws(AVError) -> Void) throws(AVError) {
        try chunk.allocateAudio(samples: samples, sampleFormat: encoder.sampleFormat, sampleRate: encoder.sampleRate,
                                channels: encoder.channels)
        let read = mf_audio_fifo_read_frame(fifo, chunk.pointer, Int32(samples))
        chunk.sampleCount = Int(max(0, read))
        let pts = nextPts ?? 0
        chunk.pts = pts
        nextPts = pts + Int64(read)
        try encoder.encode(chunk, into: packet, emit)
    }
}
