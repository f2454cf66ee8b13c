import CAV
import Foundation
import Placeholders

/// What the audio pipeline learned about the source (SPEC §1.2 `metadata`, `duration`, `bitrate`).
public struct AudioMetadata: Sendable, Equatable {
    /// Container short names as libav says (`mp3`, `wav`, `ogg`, `aac`, `mov,mp4,m4a,3gp,3g2,mj2`).
    public var format: String
    /// Source codec (`mp3`, `pcm_s24le`, `vorbis`, `aac`, `alac`...).
    public var codec: String
    /// Seconds of audio actually decoded.
    public var duration: Double
    /// The source's bit rate in bit/s (container figure, else the stream's; 0 when unknown).
    public var bitRate: Int64
    public var sampleRate: Int
    public var channels: Int
    public var tags: AudioTags
    /// Whether the file carries cover art.
    public var hasCoverArt: Bool
}

/// The files one transcode made, and what it learned. Paths are inside the output directory.
public struct AudioResult: Sendable {
    /// The MP3 rendition (128 kbit/s CBR, 44.1 kHz, mono or stereo, ID3v2.3 title/artist/album).
    public var mp3Path: String
    public var mp3Channels: Int
    /// The waveform JSON (see `Waveform`).
    public var waveformPath: String
    public var waveform: Waveform
    /// The cover art thumbnail (JPEG), when the source has decodable cover art.
    public var coverPath: String?
    public var coverWidth: Int?
    public var coverHeight: Int?
    /// ThumbHash and dominant colour of the whole cover picture (SPEC §12).
    public var coverPlaceholder: ImagePlaceholder?
    public var metadata: AudioMetadata
    /// Time spent building the waveform (inside the transcode), for benchmarks.
    public var waveformSeconds: Double
}

/// Settings of the audio rendition; the defaults are SPEC §2.
public struct AudioTranscodeOptions: Sendable {
    public var bitRate: Int64 = 128_000
    public var waveformPixels = 800
    /// Decode errors tolerated, as a fraction of the audio packets (a glitch or two in a long file is
    /// concealed by the decoder; more means the file is corrupt).
    public var toleratedDecodeErrorRatio = 0.02
    /// Truncation: decoded audio shorter than the container's declared duration by more than
    /// max(`truncationSlackSeconds`, `truncationSlackRatio` × declared).
    public var truncationSlackSeconds = 0.25
    public var truncationSlackRatio = 0.01
    /// Whether to make the waveform JSON (benchmarks turn it off to time it apart).
    public var makeWaveform = true

    public init() {}
}

/// Any supported audio file → MP3 128 kbit/s CBR 44.1 kHz + waveform JSON + cover thumbnail, in one pass:
/// demux → decode → swresample (44.1 kHz; mono stays mono, anything else stereo) → FIFO of the encoder's
/// frame size → libmp3lame → MP3 muxer. Blocking: run it on a dedicated thread, never the cooperative pool.
///
/// Corrupt input, input with no decodable audio, and truncated input throw `AVError` with code
/// `decode_failed` (`no_audio_stream` for a container without audio). Corrupt: more than 2 % of the audio
/// packets fail to decode (fewer are concealed by the decoder, as players do). Truncated, any of:
/// - the decoded duration falls short of the duration the container declares (MP3 Xing/Info/VBRI header,
///   MP4 sample table, WAV/Ogg as libav reads them) by more than max(0.25 s, 1 %); durations libav only
///   estimated from the bit rate (ADTS, MP3 without Xing header) are not trusted;
/// - the last audio packet fails to decode (a frame cut in the middle: ADTS, PCM);
/// - a WAV `data` chunk larger than the file, an Ogg file whose last page is cut or lacks end-of-stream.
/// Not detectable: an MP3 without Xing header cut at a frame boundary (the mp3 parser drops a partial
/// last frame silently); such a file is transcoded as far as it goes.
public enum AudioTranscoder {
    public static let mp3FileName = "audio.mp3"
    public static let waveformFileName = "waveform.json"
    public static let coverFileName = "thumbnail.jpg"
    /// The MP3's sample rate (SPEC §2).
    public static let sampleRate = 44_100

    /// Transcodes `input` into `outputDirectory` (which must exist). On failure nothing is left there.
    /// `isCancelled` is polled between packets; a raised flag stops the job with `.cancelled`.
    public static func transcode(input path: String, outputDirectory: String,
                                 options: AudioTranscodeOptions = AudioTranscodeOptions(),
                                 isCancelled: () -> Bool = { false }) throws(AVError) -> AudioResult {
        // libav's warnings (duration estimates, concealed frames) would go to stderr unstructured; the verdict
        // is ours (AVError), so only errors are let through. Same setting as VideoTranscoder.
        av_log_set_level(AV_LOG_ERROR)
        do {
            return try run(input: path, outputDirectory: outputDirectory, options: options, isCancelled: isCancelled)
        } catch {
            for name in [mp3FileName, waveformFileName, coverFileName] {
                try? FileManager.default.removeItem(atPath: outputDirectory + "/" + name)
            }
            throw error
        }
    }

    private static func run(input path: String, outputDirectory: String, options: AudioTranscodeOptions,
                            isCancelled: () -> Bool) throws(AVError) -> AudioResult {
        let input = try MediaInput(path: path)
        guard let audio = input.bestStream(.audio) else {
            throw AVError(.noAudioStream, "the file has no audio stream")
        }
        let coverStream = input.streams.first { $0.isAttachedPicture && $0.attachedPicture != nil }
        input.keepOnly(streams: [audio.index])
        let decoder = try Decoder(input: input, stream: audio.index, threads: 1)

        let channels = audio.channels > 0 ? audio.channels : max(decoder.channels, 1)
        // SPEC §2: 44.1 kHz, mono stays mono, everything else becomes stereo; float planar suits libmp3lame
        // and the waveform alike.
        let outChannels = channels == 1 ? 1 : 2
        let sampleFormat = AV_SAMPLE_FMT_FLTP
        let encoder = try Encoder(audio: AudioEncoderSettings(
            codecName: "libmp3lame", sampleRate: Self.sampleRate, channels: outChannels,
            sampleFormat: sampleFormat.rawValue, bitRate: options.bitRate))
        let frameSize = encoder.frameSize > 0 ? encoder.frameSize : 1152

        let mp3Path = outputDirectory + "/" + mp3FileName
        let output = try MediaOutput(path: mp3Path, format: "mp3")
        let outStream = try output.addStream(encoder: encoder)
        let tags = AudioTags(container: input.tags, stream: audio.tags)
        output.setTags(tags.carriedValues.map { (key: $0.0, value: $0.1) })
        // ID3v2.3: read by every player (v2.4, libav's default, is not by some older ones).
        try output.writeHeader(options: ["id3v2_version": "3"])

        let resampler = AudioResampler(sampleRate: Self.sampleRate, channels: outChannels, sampleFormat: sampleFormat)
        let fifo = try AudioSampleFIFO(sampleRate: Self.sampleRate, channels: outChannels, sampleFormat: sampleFormat)
        var waveform = WaveformBuilder(pixels: options.waveformPixels, sampleRate: Self.sampleRate)
        var waveformTime = Duration.zero
        let clock = ContinuousClock()
        let encoderFrame = Frame()
        let outPacket = Packet()
        var samplesEncoded: Int64 = 0
        var decodedSeconds = 0.0
        var decodedFrames = 0
        var packets = 0
        var decodeErrors = 0
        var firstDecodeError: AVError?
        var lastPacketFailed = false

        func writePacket(_ packet: Packet) throws(AVError) {
            try output.write(packet, toStream: outStream)
        }

        /// Encodes whole encoder frames from the FIFO (and the short remainder when `final`).
        func drainFIFO(final: Bool) throws(AVError) {
            while fifo.count >= frameSize || (final && fifo.count > 0) {
                let n = try fifo.read(into: encoderFrame, count: frameSize)
                encoderFrame.pts = samplesEncoded
                samplesEncoded += Int64(n)
                try encoder.encode(encoderFrame, into: outPacket, writePacket)
            }
        }

        /// Resampled audio: into the waveform (planar float, read in place) and the FIFO.
        func take(_ converted: Frame) throws(AVError) {
            if options.makeWaveform {
                let start = clock.now
                let planes = converted.pointer.pointee.extended_data
                var pointers: [UnsafePointer<Float>] = []
                for c in 0..<outChannels {
                    if let plane = planes?[c] { pointers.append(UnsafeRawPointer(plane).assumingMemoryBound(to: Float.self)) }
                }
                waveform.add(planes: pointers, count: converted.sampleCount)
                waveformTime += clock.now - start
            }
            try fifo.write(converted)
            try drainFIFO(final: false)
        }

        func consume(_ frame: Frame) throws(AVError) {
            if frame.sampleRate > 0 { decodedSeconds += Double(frame.sampleCount) / Double(frame.sampleRate) }
            decodedFrames += 1
            try resampler.convert(frame, take)
        }

        let packet = Packet()
        let decoded = Frame()
        while try input.read(into: packet) {
            guard packet.streamIndex == audio.index else { continue }
            if isCancelled() { throw AVError(.cancelled, "the audio transcode was cancelled") }
            packets += 1
            do {
                try decoder.decode(packet, into: decoded, consume)
                lastPacketFailed = false
            } catch where error.code == .decodeFailed && error.averror != nil {
                // A damaged packet: the decoder conceals it; too many of them fail the file below.
                decodeErrors += 1
                lastPacketFailed = true
                if firstDecodeError == nil { firstDecodeError = error }
                decoded.unref()
            }
        }
        do {
            try decoder.decode(nil, into: decoded, consume)
        } catch where error.code == .decodeFailed {
            decodeErrors += 1
            if firstDecodeError == nil { firstDecodeError = error }
        }
        try resampler.convert(nil, take)
        try drainFIFO(final: true)
        try encoder.encode(nil, into: outPacket, writePacket)
        try output.finish()

        // Input verdicts: nothing decoded, too many damaged packets, or shorter than declared.
        guard decodedFrames > 0, decodedSeconds > 0 else {
            throw AVError(.decodeFailed, "no audio could be decoded" + (firstDecodeError.map { " (\($0.message))" } ?? ""))
        }
        if Double(decodeErrors) > options.toleratedDecodeErrorRatio * Double(max(packets, 1)) {
            throw AVError(.decodeFailed, "\(decodeErrors) of \(packets) audio packets could not be decoded"
                          + (firstDecodeError.map { " (\($0.message))" } ?? ""))
        }
        if lastPacketFailed {
            throw AVError(.decodeFailed, "the file is truncated: its last audio frame is incomplete"
                          + (firstDecodeError.map { " (\($0.message))" } ?? ""))
        }
        if let reason = TruncationCheck.reason(path: path, formatName: input.formatName) {
            throw AVError(.decodeFailed, "the file is truncated: \(reason)")
        }
        if let declared = declaredDuration(input: input, stream: audio) {
            let slack = max(options.truncationSlackSeconds, options.truncationSlackRatio * declared)
            if decodedSeconds < declared - slack {
                throw AVError(.decodeFailed, String(
                    format: "the file is truncated: %.2f s of audio decoded, the container declares %.2f s",
                    decodedSeconds, declared))
            }
        }

        let wave = waveform.finish()
        let waveformPath = outputDirectory + "/" + waveformFileName
        if options.makeWaveform {
            let start = clock.now
            try write(wave.jsonData(), to: waveformPath)
            waveformTime += clock.now - start
        }

        var coverPath: String?
        var coverSize: CoverArtThumbnailer.Written?
        if let coverStream {
            let path = outputDirectory + "/" + coverFileName
            coverSize = CoverArtThumbnailer.write(input: input, stream: coverStream.index, to: path)
            if coverSize != nil { coverPath = path } else { try? FileManager.default.removeItem(atPath: path) }
        }

        let metadata = AudioMetadata(
            format: input.formatName, codec: audio.codecName, duration: (decodedSeconds * 1e6).rounded() / 1e6,
            bitRate: input.bitRate > 0 ? input.bitRate : audio.bitRate,
            sampleRate: audio.sampleRate > 0 ? audio.sampleRate : decoder.sampleRate,
            channels: channels, tags: tags, hasCoverArt: coverStream != nil)
        let seconds = Double(waveformTime.components.seconds) + Double(waveformTime.components.attoseconds) * 1e-18
        return AudioResult(
            mp3Path: mp3Path, mp3Channels: outChannels, waveformPath: waveformPath, waveform: wave,
            coverPath: coverPath, coverWidth: coverSize?.width, coverHeight: coverSize?.height,
            coverPlaceholder: coverSize?.placeholder, metadata: metadata, waveformSeconds: seconds)
    }

    /// The duration the container states for the audio, unless libav only estimated it from the bit rate.
    private static func declaredDuration(input: MediaInput, stream: StreamInfo) -> Double? {
        guard let context = input.context, context.pointee.duration_estimation_method != AVFMT_DURATION_FROM_BITRATE
        else { return nil }
        let declared = stream.duration ?? input.duration
        guard let declared, declared.isFinite, declared > 0 else { return nil }
        return declared
    }

    private static func write(_ data: Data, to path: String) throws(AVError) {
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw AVError(.muxFailed, "writing \(path): \(error.localizedDescription)")
        }
    }
}
