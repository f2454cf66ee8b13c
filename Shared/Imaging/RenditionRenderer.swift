import MediaDomain
import CVips
import Dispatch
import Placeholders
import Synchronization

/// Makes every output from the one decoded image: the pixels of each output in turn (cascading from the largest),
/// and each output's encode started the moment its pixels are ready, on another thread, while the next output is
/// resized. (Encoding after all resizes left one core idle during them: about 10 ms of a 12 MP JPEG's job.)
enum RenditionRenderer {
    /// The encoded outputs, and the placeholders computed while they were encoding.
    struct Rendered {
        var renditions: [RenderedImage]
        var placeholder: ImagePlaceholder?
        /// What the placeholders cost on this thread (SPEC §12 wants them nearly free).
        var placeholderTime: Duration
    }

    static func render(
        _ outputs: [ImageRenditionSpec], geometries: [RenditionGeometry], from decoded: VipsImageRef,
        uprightWidth: Int, uprightHeight: Int, cancellation: ImagingCancellation? = nil
    ) throws(ImagingError) -> Rendered {
        // Full-frame resized images kept in memory; each output is cut from the smallest one still large enough,
        // so a 320 output is made from the 640 one rather than from the decode (and equal sizes are made once).
        var frames: [VipsImageRef] = [decoded]
        var prepared: [VipsImageRef?] = Array(repeating: nil, count: outputs.count)
        let encoded = Mutex<[Result<[UInt8], ImagingError>?]>(Array(repeating: nil, count: outputs.count))
        let encoders = DispatchGroup()
        // Whatever happens below, every encode started is waited for before `render` returns: they read `frames`.
        defer { encoders.wait() }
        let order = geometries.indices.sorted { geometries[$0].requiredScale > geometries[$1].requiredScale }
        for index in order {
            try cancellation?.check()
            let geometry = geometries[index]
            let width = Int32(geometry.width), height = Int32(geometry.height)
            var image: VipsImageRef
            switch geometry.method {
            case .resize:
                let source = smallest(frames, atLeast: geometry.width, geometry.height) ?? decoded
                if source.width == geometry.width && source.height == geometry.height {
                    image = source
                } else {
                    image = try source.apply("thumbnail") { mf_thumbnail_force($0, width, height, $1) }
                        .copyToMemory(cancellation)
                    frames.append(image)
                }
            case .coverCrop:
                // The scaled frame the crop is taken from, before cropping.
                let coverWidth = Int((Double(uprightWidth) * geometry.requiredScale).rounded())
                let coverHeight = Int((Double(uprightHeight) * geometry.requiredScale).rounded())
                let source = smallest(frames, atLeast: coverWidth, coverHeight) ?? decoded
                image = try source.apply("thumbnail") { mf_thumbnail_cover($0, width, height, $1) }
            case .centreCut:
                let cutWidth = min(geometry.width, decoded.width), cutHeight = min(geometry.height, decoded.height)
                let left = Int32((decoded.width - cutWidth) / 2), top = Int32((decoded.height - cutHeight) / 2)
                image = try decoded.apply("extract_area") {
                    mf_extract_area($0, left, top, Int32(cutWidth), Int32(cutHeight), $1)
                }
            }
            if case .jpeg = outputs[index].encoding, image.hasAlpha {
                image = try image.apply("flatten") { mf_flatten_white($0, $1) }
            }
            prepared[index] = image
            // Encoders are single-threaded: this one runs beside the next resize.
            let job = EncodeJob(image: image, encoding: outputs[index].encoding, cancellation: cancellation)
            DispatchQueue.global().async(group: encoders) {
                let result = Result { () throws(ImagingError) -> [UInt8] in
                    try encode(job.image, as: job.encoding, cancellation: job.cancellation)
                }
                encoded.withLock { $0[index] = result }
            }
        }
        encoders.wait()
        // The placeholders, from the smallest full frame held (no decode of their own). After the encoders, not beside
        // them: beside them it waited for a core (5-6 ms of wall time for under 1 ms of work, 12 MP JPEG), and
        // `placeholderTime` is to say what they cost.
        let clock = ContinuousClock()
        let started = clock.now
        let smallestFrame = frames.min { $0.width * $0.height < $1.width * $1.height } ?? decoded
        let placeholder = try PlaceholderSampler.placeholder(from: smallestFrame)
        let placeholderTime = started.duration(to: clock.now)

        var renditions: [RenderedImage] = []
        renditions.reserveCapacity(outputs.count)
        let results = encoded.withLock { $0 }
        for (index, spec) in outputs.enumerated() {
            guard let image = prepared[index], let result = results[index] else {
                throw .decodeFailed("rendition \(spec.name) was not produced")
            }
            renditions.append(RenderedImage(
                name: spec.name, mimeType: spec.encoding.mimeType, fileExtension: spec.encoding.fileExtension,
                width: image.width, height: image.height, data: try result.get()))
        }
        return Rendered(renditions: renditions, placeholder: placeholder, placeholderTime: placeholderTime)
    }

    /// A prepared image handed to an encoder thread. `@unchecked`: the image is a finished pipeline over in-memory
    /// pixels that no one mutates any more, libvips reference counting is atomic, and it is encoded by exactly one
    /// thread while `render` waits for all of them.
    private struct EncodeJob: @unchecked Sendable {
        let image: VipsImageRef
        let encoding: ImageRenditionSpec.Encoding
        let cancellation: ImagingCancellation?
    }

    private static func smallest(_ frames: [VipsImageRef], atLeast width: Int, _ height: Int) -> VipsImageRef? {
        frames.filter { $0.width >= width && $0.height >= height }.min { $0.width * $0.height < $1.width * $1.height }
    }

    private static func encode(
        _ image: VipsImageRef, as format: ImageRenditionSpec.Encoding, cancellation: ImagingCancellation?
    ) throws(ImagingError) -> [UInt8] {
        switch format {
        case .jpeg(let quality):
            let q = Int32(min(100, max(1, quality)))
            return try image.encode("jpegsave", cancellation: cancellation) { mf_jpegsave($0, q, $1, $2) }
        case .webp(let quality):
            let q = Int32(min(100, max(1, quality)))
            return WebPMetadata.strip(try image.encode("webpsave", cancellation: cancellation) { mf_webpsave($0, q, $1, $2) })
        case .avif(let quality, let effort):
            let q = Int32(min(100, max(1, quality))), e = Int32(min(9, max(0, effort)))
            return try image.encode("avifsave", cancellation: cancellation) { mf_avifsave($0, q, e, $1, $2) }
        }
    }
}
