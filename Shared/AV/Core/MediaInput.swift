import CAV

/// An opened media file (demuxer): its streams, duration, bit rate and tags, and packets read in order.
/// Not thread-safe: use it from the one thread that runs the job.
public final class MediaInput {
    var context: UnsafeMutablePointer<AVFormatContext>?
    /// Every stream of the file, in index order.
    public let streams: [StreamInfo]
    /// The container's short names (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`...).
    public let formatName: String
    /// Duration in seconds, when known.
    public let duration: Double?
    /// Total bit rate in bit/s (0 when unknown).
    public let bitRate: Int64
    /// Container-level metadata tags.
    public let tags: [String: String]
    /// Where the first packets start, in seconds (`start_time`), 0 when unknown.
    public let startTime: Double

    /// Opens `path` and probes its streams. Unreadable content throws `.decodeFailed`.
    public init(path: String) throws(AVError) {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&ctx, path, nil, nil)
        guard opened >= 0, let ctx else {
            let notFound = opened == mf_averror(ENOENT) || opened == mf_averror(EACCES)
            throw AVError.libav(opened, "opening \(path)", default: notFound ? .openFailed : .decodeFailed)
        }
        context = ctx
        let probed = avformat_find_stream_info(ctx, nil)
        if probed < 0 {
            var c: UnsafeMutablePointer<AVFormatContext>? = ctx
            avformat_close_input(&c)
            context = nil
            throw AVError.libav(probed, "probing \(path)", default: .decodeFailed)
        }
        var list: [StreamInfo] = []
        for i in 0..<Int(ctx.pointee.nb_streams) {
            if let s = ctx.pointee.streams[i] { list.append(StreamInfo(s)) }
        }
        streams = list
        formatName = ctx.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        let d = ctx.pointee.duration
        duration = d == noTimestamp || d <= 0 ? list.compactMap(\.duration).max() : Double(d) / Double(AV_TIME_BASE)
        bitRate = ctx.pointee.bit_rate
        tags = AVDictionaryBridge.entries(ctx.pointee.metadata)
        let start = ctx.pointee.start_time
        startTime = start == noTimestamp ? 0 : Double(start) / Double(AV_TIME_BASE)
    }

    deinit {
        if context != nil { avformat_close_input(&context) }
    }

    /// The stream libav considers best of a type (skipping cover art for video), or nil.
    public func bestStream(_ type: MediaType) -> StreamInfo? {
        guard let context else { return nil }
        let index = av_find_best_stream(context, type.av, -1, -1, nil, 0)
        if index >= 0, !streams[Int(index)].isAttachedPicture { return streams[Int(index)] }
        return streams.first { $0.mediaType == type && !$0.isAttachedPicture }
    }

    /// Tells the demuxer to drop packets of every stream but these (saves work in `read`).
    public func keepOnly(streams kept: Set<Int>) {
        guard let context else { return }
        for i in 0..<Int(context.pointee.nb_streams) where !kept.contains(i) {
            context.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }
    }

    /// Reads the next packet into `packet`; false at the end of the file. A read error throws `.decodeFailed`.
    public func read(into packet: Packet) throws(AVError) -> Bool {
        guard let context else { return false }
        packet.unref()
        let result = av_read_frame(context, packet.pointer)
        if result == mf_averror_eof() { return false }
        try AVError.check(result, "reading a packet", default: .decodeFailed)
        return true
    }

    /// Seeks to the keyframe at or before `seconds` (all streams); decoders must be flushed after.
    public func seek(toSeconds seconds: Double) throws(AVError) {
        guard let context else { return }
        let ts = Int64((seconds + startTime) * Double(AV_TIME_BASE))
        try AVError.check(av_seek_frame(context, -1, ts, AVSEEK_FLAG_BACKWARD), "seeking to \(seconds) s", default: .decodeFailed)
    }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream>? {
        guard let context, index >= 0, index < Int(context.pointee.nb_streams) else { return nil }
        return context.pointee.streams[index]
    }
}
