import CAV

/// SPEC §2 video renditions in process: demux → decode → scale/turn upright → libx264 + AAC → fast-start MP4,
/// or a packet copy when the source already fits (remux fast path); poster and thumbnail JPEGs from the
/// frame at `posterTime`. Runs on the calling thread (a dedicated one: it blocks for the whole job).
public final class VideoTranscoder {
    public let options: VideoTranscodeOptions

    public init(options: VideoTranscodeOptions = VideoTranscodeOptions()) {
        self.options = options
        av_log_set_level(AV_LOG_ERROR)
    }

    /// Makes the three renditions. `progress` gets percentages (0–100) as the source is read;
    /// `isCancelled` is polled between packets (a raised flag stops the job with `.cancelled`).
    public func run(
        _ request: VideoTranscodeRequest, progress: @escaping (Double) -> Void = { _ in }, isCancelled: () -> Bool = { false }
    ) throws(AVError) -> VideoTranscodeResult {
        let input = try MediaInput(path: request.inputPath)
        guard let video = input.bestStream(.video) else {
            throw AVError(.noVideoStream, "the file has no video stream")
        }
        let audio = input.bestStream(.audio)
        let metadata = Self.metadata(of: input, video: video, audio: audio)
        let duration = metadata.duration ?? 0
        let posterAt = duration > options.posterTime ? options.posterTime : duration / 2
        var reporter = ProgressThrottle(duration: duration, report: progress)

        let remux = options.allowRemux && canRemux(input: input, video: video, audio: audio)
        let outcome: (video: VideoRenditionFile, poster: Frame, posterSeconds: Double)
        if remux {
            let grabber = try PosterGrabber(input: input, video: video, at: posterAt)
            let file = try copyPackets(input: input, video: video, audio: audio, to: request.videoPath, grabber: grabber,
                                       reporter: &reporter, isCancelled: isCancelled)
            let still = try grabber.finish()
            outcome = (file, still.frame, still.seconds)
        } else {
            outcome = try transcode(input: input, video: video, audio: audio, metadata: metadata, posterAt: posterAt,
                                    to: request.videoPath, reporter: &reporter, isCancelled: isCancelled)
        }
        let still = outcome.poster
        let posterSize = VideoGeometry.fit(width: still.width, height: still.height,
                                           long: options.posterLongSide, short: options.posterShortSide)
        _ = try JPEGWriter.write(still, width: posterSize.width, height: posterSize.height, to: request.posterPath)
        let side = options.thumbnailSide
        _ = try JPEGWriter.write(still, width: side, height: side, cropSquare: true, to: request.thumbnailPath)
        // A placeholder that cannot be made leaves the metadata without it; the video is no worse for that.
        let placeholder = try? FramePlaceholder.make(from: still)
        progress(100)
        return VideoTranscodeResult(
            metadata: metadata, video: outcome.video,
            poster: VideoRenditionFile(path: request.posterPath, width: posterSize.width, height: posterSize.height),
            thumbnail: VideoRenditionFile(path: request.thumbnailPath, width: side, height: side),
            remuxed: remux, outputHasAudio: audio != nil, posterSeconds: outcome.posterSeconds,
            placeholder: placeholder ?? nil)
    }

    // MARK: - Inspection

    static func metadata(of input: MediaInput, video: StreamInfo, audio: StreamInfo?) -> VideoMetadata {
        let (w, h) = displaySize(video)
        return VideoMetadata(
            duration: input.duration ?? video.duration, bitRate: input.bitRate, width: w, height: h,
            videoCodec: video.codecName, audioCodec: audio?.codecName, frameRate: video.frameRate,
            rotation: video.rotation, hasAudio: audio != nil, pixelFormat: video.pixelFormatName,
            container: input.formatName)
    }

    /// The picture size as displayed: sample aspect ratio applied to the width, rotation applied.
    static func displaySize(_ video: StreamInfo) -> (width: Int, height: Int) {
        var w = video.width
        if let sar = video.sampleAspectRatio.value, sar > 0, abs(sar - 1) > 0.001 {
            w = Int((Double(w) * sar).rounded())
        }
        return video.rotation % 180 == 0 ? (w, video.height) : (video.height, w)
    }

    /// H.264 8-bit 4:2:0 + AAC (or no audio), within the box, square pixels, upright, from a container whose
    /// H.264/AAC packets MP4 takes as they are.
    func canRemux(input: MediaInput, video: StreamInfo, audio: StreamInfo?) -> Bool {
        let containerOK = input.formatName.contains("mp4") || input.formatName.contains("mov")
            || input.formatName.contains("matroska")
        let sarOK = video.sampleAspectRatio.value.map { abs($0 - 1) < 0.001 } ?? true
        return containerOK && video.codecName == "h264" && video.bitDepth == 8 && video.isChroma420
            && (video.pixelFormatName == "yuv420p" || video.pixelFormatName == "yuvj420p")
            && video.rotation == 0 && sarOK
            && VideoGeometry.isWithin(width: video.width, height: video.height, long: options.maxLongSide,
                                      short: options.maxShortSide)
            && (audio == nil || audio?.codecName == "aac")
    }

    // MARK: - Remux fast path

    private func copyPackets(
        input: MediaInput, video: StreamInfo, audio: StreamInfo?, to path: String, grabber: PosterGrabber,
        reporter: inout ProgressThrottle, isCancelled: () -> Bool
    ) throws(AVError) -> VideoRenditionFile {
        let output = try MediaOutput(path: path, format: "mp4")
        var map: [Int: Int] = [video.index: try output.addStream(copying: video.index, of: input)]
        if let audio { map[audio.index] = try output.addStream(copying: audio.index, of: input) }
        input.keepOnly(streams: Set(map.keys))
        try output.writeHeader(options: ["movflags": "+faststart"])
        let packet = Packet()
        while try input.read(into: packet) {
            if isCancelled() { throw AVError(.cancelled, "the job was cancelled") }
            guard let target = map[packet.streamIndex] else { continue }
            let stream = input.streams[packet.streamIndex]
            if stream.index == video.index {
                if packet.dts != noTimestamp { reporter.at(seconds: stream.timeBase.seconds(packet.dts) - input.startTime) }
                // Decode only up to the poster frame, before the muxer takes the packet's data.
                if !grabber.isDone { try grabber.feed(packet) }
            }
            try output.write(packet, toStream: target)
        }
        try output.finish()
        return VideoRenditionFile(path: path, width: video.width, height: video.height)
    }

    // MARK: - Transcode

    private func transcode(
        input: MediaInput, video: StreamInfo, audio: StreamInfo?, metadata: VideoMetadata, posterAt: Double,
        to path: String, reporter: inout ProgressThrottle, isCancelled: () -> Bool
    ) throws(AVError) -> (video: VideoRenditionFile, poster: Frame, posterSeconds: Double) {
        let output = try MediaOutput(path: path, format: "mp4")
        let size = VideoGeometry.fit(width: metadata.width, height: metadata.height, long: options.maxLongSide,
                                     short: options.maxShortSide)
        let rotation = video.rotation
        // The size before turning: swscale works in the source's orientation, the turn swaps the sides.
        let (scaledW, scaledH) = rotation % 180 == 0 ? (size.width, size.height) : (size.height, size.width)
        let decoder = try Decoder(input: input, stream: video.index, threads: 0)
        var settings = VideoEncoderSettings(
            codecName: "libx264", width: size.width, height: size.height, pixelFormat: AV_PIX_FMT_YUV420P.rawValue,
            timeBase: video.timeBase,
            // x264 paces its rate control by this; without it, it would assume 1/time base (1000 fps for Matroska).
            frameRate: [video.averageFrameRate, video.realFrameRate].first { ($0.value ?? 0) > 0 },
            sampleAspectRatio: Rational(1, 1), options: ["crf": "\(options.crf)", "preset": options.preset],
            threads: options.threads, globalHeader: output.needsGlobalHeader)
        settings.colorPrimaries = video.colorPrimaries
        settings.colorTransfer = video.colorTransfer
        settings.colorSpace = video.colorSpace
        let encoder = try Encoder(video: settings)
        let soundtrack = try audio.map { a throws(AVError) in
            try SoundtrackEncoder(input: input, stream: a, bitRate: options.audioBitRate,
                                  globalHeader: output.needsGlobalHeader, startSeconds: input.startTime)
        }
        let videoOut = try output.addStream(encoder: encoder)
        let audioOut = try soundtrack.map { s throws(AVError) in try output.addStream(encoder: s.encoder) }
        input.keepOnly(streams: Set([video.index] + (audio.map { [$0.index] } ?? [])))
        try output.writeHeader(options: ["movflags": "+faststart"])

        let timeBase = video.timeBase
        let startPts = Int64((input.startTime / (Double(timeBase.num) / Double(max(1, timeBase.den)))).rounded())
        let scaler = FrameScaler(width: scaledW, height: scaledH, pixelFormat: AV_PIX_FMT_YUV420P)
        let packet = Packet(), decoded = Frame(), scaled = Frame(), turned = Frame(), encoded = Packet()
        var lastPts = Int64.min
        var framesEncoded = 0
        var decodeErrors = 0
        var poster: (Frame, Double)?
        var fallbackPoster: (Frame, Double)?

        func encodeDecodedFrames() throws(AVError) {
            while true {
                let got: Bool
                do {
                    got = try decoder.receive(into: decoded)
                } catch where error.code == .decodeFailed {
                    decodeErrors += 1  // a damaged frame: skip it like the ffmpeg CLI does
                    break
                }
                guard got else { break }
                defer { decoded.unref() }
                var pts = decoded.bestEffortTimestamp
                pts = pts == noTimestamp ? (lastPts == .min ? 0 : lastPts + 1) : pts - startPts
                if pts <= lastPts { pts = lastPts + 1 }
                lastPts = pts
                var current = decoded
                if decoded.width != scaledW || decoded.height != scaledH || decoded.format != AV_PIX_FMT_YUV420P.rawValue {
                    try scaler.scale(decoded, into: scaled)
                    current = scaled
                }
                if rotation != 0 {
                    try FrameRotator.rotate(current, degrees: rotation, into: turned)
                    current = turned
                }
                current.pts = pts
                // Like the CLI: the decoder's picture types must not force keyframes in x264.
                current.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
                let seconds = timeBase.seconds(pts)
                if poster == nil {
                    let copy = current.clone().map { ($0, seconds) }
                    if seconds >= posterAt - 0.0005 { poster = copy } else { fallbackPoster = copy }
                }
                try encoder.encode(current, into: encoded) { p throws(AVError) in try output.write(p, toStream: videoOut) }
                framesEncoded += 1
                reporter.at(seconds: seconds)
            }
        }

        func sendVideo(_ p: Packet?) throws(AVError) {
            do {
                try decoder.send(p)
            } catch where error.code == .decodeFailed && p != nil {
                decodeErrors += 1
            }
            try encodeDecodedFrames()
        }

        while try input.read(into: packet) {
            if isCancelled() { throw AVError(.cancelled, "the job was cancelled") }
            if packet.streamIndex == video.index {
                try sendVideo(packet)
            } else if let soundtrack, let audioOut, packet.streamIndex == audio?.index {
                try soundtrack.feed(packet) { p throws(AVError) in try output.write(p, toStream: audioOut) }
            }
        }
        try sendVideo(nil)
        try encoder.encode(nil, into: encoded) { p throws(AVError) in try output.write(p, toStream: videoOut) }
        if let soundtrack, let audioOut {
            try soundtrack.feed(nil) { p throws(AVError) in try output.write(p, toStream: audioOut) }
        }
        guard framesEncoded > 0, let still = poster ?? fallbackPoster else {
            throw AVError(.decodeFailed, "no video frame could be decoded (\(decodeErrors) damaged packets)")
        }
        try output.finish()
        return (VideoRenditionFile(path: path, width: size.width, height: size.height), still.0, still.1)
    }

}

/// Decodes a video stream up to the first frame at or after a time (the last frame when the stream ends
/// before) and returns it upright. Fed packet by packet, so the remux path grabs its poster while copying.
final class PosterGrabber {
    private let decoder: Decoder
    private let target: Double
    private let startTime: Double
    private let rotation: Int
    private let decoded = Frame()
    private var latest: (Frame, Double)?
    private var found: (Frame, Double)?

    init(input: MediaInput, video: StreamInfo, at seconds: Double) throws(AVError) {
        // Two frame threads: measured ~25% less wall time than one on 2 cores for the ~30 frames up to 1 s;
        // "auto" (cores + 1) adds buffers and hand-off latency for no gain on so few frames.
        decoder = try Decoder(input: input, stream: video.index, threads: 2)
        target = seconds
        startTime = input.startTime
        rotation = video.rotation
    }

    var isDone: Bool { found != nil }

    /// Decodes one packet of the stream (damaged packets are skipped).
    func feed(_ packet: Packet) throws(AVError) {
        guard found == nil else { return }
        // Frames well before the target only matter as references: skip the others.
        let ts = packet.pts != noTimestamp ? packet.pts : packet.dts
        decoder.skipsNonReferenceFrames = ts != noTimestamp && decoder.timeBase.seconds(ts) - startTime < target - 0.1
        try? decoder.send(packet)
        try take()
    }

    private func take() throws(AVError) {
        while found == nil {
            let got: Bool
            do { got = try decoder.receive(into: decoded) } catch { break }
            guard got else { break }
            defer { decoded.unref() }
            let ts = decoded.bestEffortTimestamp
            let t = ts == noTimestamp ? 0 : decoder.timeBase.seconds(ts) - startTime
            let copy = decoded.clone().map { ($0, t) }
            if t >= target - 0.0005 { found = copy } else { latest = copy }
        }
    }

    /// The frame (upright) and its time; drains the decoder when the target was not reached.
    func finish() throws(AVError) -> (frame: Frame, seconds: Double) {
        if found == nil {
            decoder.skipsNonReferenceFrames = false
            try? decoder.send(nil)
            try take()
        }
        guard let (frame, at) = found ?? latest else { throw AVError(.decodeFailed, "no video frame could be decoded") }
        guard rotation != 0 else { return (frame, at) }
        let planar = Frame(), turned = Frame()
        try FrameScaler(width: frame.width, height: frame.height, pixelFormat: AV_PIX_FMT_YUV420P).scale(frame, into: planar)
        try FrameRotator.rotate(planar, degrees: rotation, into: turned)
        return (turned, at)
    }
}

/// Calls the progress callback when the whole percentage changes.
struct ProgressThrottle {
    let duration: Double
    let report: (Double) -> Void
    private var last = -1

    init(duration: Double, report: @escaping (Double) -> Void) {
        self.duration = duration
        self.report = report
    }

    mutating func at(seconds: Double) {
        guard duration > 0 else { return }
        let percent = min(99, max(0, Int(seconds / duration * 100)))
        if percent != last {
            last = percent
            report(Double(percent))
        }
    }
}
