import CAV

/// swscale from whatever the decoder produces to a fixed size and pixel format (bicubic, like ffmpeg's
/// `scale` filter). Rebuilds its context when the input changes mid-stream.
final class FrameScaler {
    private var context: OpaquePointer?
    let width: Int
    let height: Int
    let pixelFormat: AVPixelFormat
    private let flags: Int32

    init(width: Int, height: Int, pixelFormat: AVPixelFormat, flags: Int32 = SWS_BICUBIC) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.flags = flags
    }

    deinit { sws_freeContext(context) }

    /// Scales `source` into `destination` (allocated here when its size or format differ); copies timestamps.
    func scale(_ source: Frame, into destination: Frame) throws(AVError) {
        let src = source.pointer.pointee
        context = sws_getCachedContext(
            context, src.width, src.height, AVPixelFormat(src.format), Int32(width), Int32(height), pixelFormat,
            flags, nil, nil, nil)
        guard let context else {
            throw AVError(.internalError, "no swscale conversion \(src.width)x\(src.height) fmt \(src.format) → \(width)x\(height)")
        }
        if destination.width != width || destination.height != height || destination.format != pixelFormat.rawValue {
            try destination.allocateVideo(width: width, height: height, pixelFormat: pixelFormat.rawValue)
        } else {
            try destination.makeWritable()
        }
        let rows = mf_sws_scale_frames(context, source.pointer, destination.pointer)
        if rows <= 0 { throw AVError.libav(rows, "scaling a frame", default: .decodeFailed) }
        destination.pts = source.pts
    }
}

/// Quarter turns of 8-bit planar 4:2:0 frames (display-matrix rotation applied to the pixels).
enum FrameRotator {
    /// Writes `source` turned `degrees` clockwise (90, 180, 270) into `destination`.
    static func rotate(_ source: Frame, degrees: Int, into destination: Frame) throws(AVError) {
        let (w, h) = (source.width, source.height)
        let (dw, dh) = degrees == 180 ? (w, h) : (h, w)
        if destination.width != dw || destination.height != dh || destination.format != source.format {
            try destination.allocateVideo(width: dw, height: dh, pixelFormat: source.format)
        } else {
            try destination.makeWritable()
        }
        for plane in 0..<3 {
            let (pw, ph) = plane == 0 ? (w, h) : ((w + 1) / 2, (h + 1) / 2)
            guard let src = mf_frame_data(source.pointer, Int32(plane)),
                  let dst = mf_frame_data(destination.pointer, Int32(plane)) else { continue }
            let srcStride = Int(mf_frame_linesize(source.pointer, Int32(plane)))
            let dstStride = Int(mf_frame_linesize(destination.pointer, Int32(plane)))
            turn(src, srcStride, pw, ph, dst, dstStride, degrees)
        }
        destination.pts = source.pts
    }

    /// One plane: `src` is `w`x`h`; `dst` is `h`x`w` (90/270) or `w`x`h` (180).
    private static func turn(_ src: UnsafeMutablePointer<UInt8>, _ srcStride: Int, _ w: Int, _ h: Int,
                             _ dst: UnsafeMutablePointer<UInt8>, _ dstStride: Int, _ degrees: Int) {
        switch degrees {
        case 90:
            // dst(row r, col c) = src(row h-1-c, col r); walk the source row by row (sequential reads).
            for y in 0..<h {
                let s = src + y * srcStride
                let c = h - 1 - y
                for x in 0..<w { dst[x * dstStride + c] = s[x] }
            }
        case 270:
            // dst(row r, col c) = src(row c, col w-1-r)
            for y in 0..<h {
                let s = src + y * srcStride
                for x in 0..<w { dst[(w - 1 - x) * dstStride + y] = s[x] }
            }
        default:
            for y in 0..<h {
                let s = src + y * srcStride
                let d = dst + (h - 1 - y) * dstStride
                for x in 0..<w { d[w - 1 - x] = s[x] }
            }
        }
    }
}
