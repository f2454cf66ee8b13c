import Imaging
import MediaDomain
import Metrics
import Placeholders
import ServiceKit

/// ImageService's processing: one libvips decode at reduced scale, the renditions of SPEC §2 (and the AVIF one of
/// §12) from it, and the placeholders (`metadata.thumbhash`, `metadata.dominant_color`) from its smallest frame.
public struct ImageProcessor: MediaProcessor {
    public let fileType = FileType.image
    let pipeline: ImagePipeline
    let pool: BlockingWorkPool
    let limits: ImageProcessingLimits
    let outputs: [ImageRenditionSpec]

    /// - Parameters:
    ///   - pool: the threads libvips runs on (never Swift's cooperative pool).
    ///   - avif: whether to make `urls.avif` (`MEDIA_IMAGE_AVIF`).
    public init(pool: BlockingWorkPool, maxPixels: Int64, avif: Bool = true) {
        pipeline = ImagePipeline()
        self.pool = pool
        limits = ImageProcessingLimits(maxPixels: Int(maxPixels))
        outputs = RenditionCatalog.image + (avif ? [RenditionCatalog.imageAVIF] : [])
    }

    public func process(_ job: ProcessingJob) async throws -> ProcessingOutput {
        let (pipeline, limits, path, outputs) = (self.pipeline, self.limits, job.inputPath, self.outputs)
        // The worker cancels the job on timeout or drain; libvips stops mid-computation (ImagingCancellation).
        let cancellation = ImagingCancellation()
        let result = try await withTaskCancellationHandler {
            try await pool.run {
                Result<ProcessedImage, ImagingError> { () throws(ImagingError) in
                    try pipeline.process(file: path, outputs: outputs, limits: limits, cancellation: cancellation)
                }
            }
        } onCancel: {
            cancellation.cancel()
        }
        switch result {
        case .failure(let error) where error.code == .cancelled:
            throw CancellationError()
        case .failure(let error):
            throw MediaError(code: error.code.rawValue, message: error.message)
        case .success(let image):
            let renditions = image.renditions.map { r in
                ProducedRendition(
                    name: r.name, fileExtension: r.fileExtension, mimeType: r.mimeType,
                    width: r.width, height: r.height, content: .bytes(r.data))
            }
            var metadata: [String: JSONValue] = [
                "format": .string(image.format), "has_alpha": .bool(image.hasAlpha),
                "animated": .bool(image.animated), "pages": .int(Int64(image.pages)),
            ]
            if let placeholder = image.placeholder {
                metadata.merge(placeholder.metadataFields) { _, new in new }
                let (seconds, attoseconds) = image.placeholderTime.components
                Self.placeholderTimer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            }
            return ProcessingOutput(renditions: renditions, width: image.width, height: image.height, metadata: metadata)
        }
    }

    /// What the placeholders cost inside each job (`mediaflow_placeholder_seconds`; SPEC §12 wants < 2 ms).
    static let placeholderTimer = Metrics.Timer(label: "mediaflow_placeholder_seconds")
}
