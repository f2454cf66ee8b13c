import CAV
import Foundation

/// Still images (poster, thumbnail) with libav's MJPEG encoder: scale to the size in full-range 4:2:0, encode
/// one frame, write the bytes.
enum JPEGWriter {
    /// qscale 2–31, lower is better; 3 is visually lossless-ish at a few hundred KB for 720p.
    static let quality: Int32 = 3

    /// Scales `frame` (optionally a centred square crop of it) to `width`x`height`, encodes, writes `path`.
    /// Returns the size of the file.
    static func write(_ frame: Frame, width: Int, height: Int, cropSquare: Bool = false, to path: String) throws(AVError) -> Int {
        var source = frame
        if cropSquare {
            guard let cropped = frame.clone() else { throw AVError(.outOfMemory, "cloning the poster frame") }
            let (x, y, side) = VideoGeometry.centreSquare(width: frame.width, height: frame.height)
            cropped.pointer.pointee.crop_left = x
            cropped.pointer.pointee.crop_top = y
            cropped.pointer.pointee.crop_right = frame.width - x - side
            cropped.pointer.pointee.crop_bottom = frame.height - y - side
            try AVError.check(av_frame_apply_cropping(cropped.pointer, Int32(AV_FRAME_CROP_UNALIGNED)),
                              "cropping the thumbnail", default: .internalError)
            source = cropped
        }
        let scaled = Frame()
        try FrameScaler(width: width, height: height, pixelFormat: AV_PIX_FMT_YUVJ420P).scale(source, into: scaled)
        scaled.pts = 0
        let encoder = try Encoder(video: VideoEncoderSettings(
            codecName: "mjpeg", width: width, height: height, pixelFormat: AV_PIX_FMT_YUVJ420P.rawValue,
            timeBase: Rational(1, 25), globalQuality: quality * FF_QP2LAMBDA, threads: 1))
        var bytes: [UInt8] = []
        let packet = Packet()
        try encoder.encode(scaled, into: packet) { p throws(AVError) in bytes += p.bytes }
        try encoder.encode(nil, into: packet) { p throws(AVError) in bytes += p.bytes }
        guard !bytes.isEmpty else { throw AVError(.encodeFailed, "the JPEG encoder produced nothing") }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw AVError(.internalError, "cannot write \(path)")
        }
        return bytes.count
    }
}
