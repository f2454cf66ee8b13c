import CAV
import Placeholders

/// The placeholders of SPEC §12 (`metadata.thumbhash`, `metadata.dominant_color`) from a decoded still (a video's
/// poster frame, an audio file's cover art): one swscale pass to RGBA within `ThumbHash.maxSide`, then the hash.
enum FramePlaceholder {
    static func make(from frame: Frame) throws(AVError) -> ImagePlaceholder? {
        guard frame.width > 0, frame.height > 0 else { return nil }
        let target = ImagePlaceholder.targetSize(width: frame.width, height: frame.height)
        let rgba = Frame()
        try FrameScaler(width: target.width, height: target.height, pixelFormat: AV_PIX_FMT_RGBA, flags: SWS_AREA)
            .scale(frame, into: rgba)
        guard let data = mf_frame_data(rgba.pointer, 0) else { return nil }
        let stride = Int(mf_frame_linesize(rgba.pointer, 0))
        let rowBytes = target.width * 4
        var bytes = [UInt8](repeating: 0, count: rowBytes * target.height)
        bytes.withUnsafeMutableBytes { out in
            for row in 0..<target.height {
                out.baseAddress?.advanced(by: row * rowBytes).copyMemory(from: data + row * stride, byteCount: rowBytes)
            }
        }
        return RGBAPixels(width: target.width, height: target.height, bytes: bytes).flatMap(ImagePlaceholder.init)
    }
}
