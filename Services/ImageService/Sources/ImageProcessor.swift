import Imaging
import MediaDomain
import ServiceKit

/// ImageService's processing: one libvips decode at reduced scale, the five renditions of SPEC §2 from it.
public struct ImageProcessor: MediaProcessor {
    public let fileType = FileType.image
    let pipeline: ImagePipeline
    let pool: BlockingWorkPool
    let limits: ImageProcessingLimits

    static let outputs = RenditionCatalog.image

    /// - Parameter pool: the threads libvips runs on (never Swift's cooperative pool).
    public init(pool: BlockingWorkPool, maxPixels: Int64) {
        pipeline = ImagePipeline()
        self.pool = pool
        limits = ImageProcessingLimits(maxPixels: Int(maxPixels))
    }

    public func process(_ job: ProcessingJob) async throws -> ProcessingOutput {
        let (pipeline, limits, path) = (self.pipeline, self.limits, job.inputPath)
        // The worker cancels the job on timeout or drain; libvips stops mid-computation (ImagingCancellation).
        let cancellation = ImagingCancellation()
        let result = try await withTaskCancellationHandler {
            try await pool.run {
                Result<ProcessedImage, ImagingError> { () throws(ImagingError) in
                    try pipeline.process(file: path, outputs: Self.outputs, limits: limits, cancellation: cancellation)
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
                    name: r.name, fileExtension: r.mimeType == "image/webp" ? "webp" : "jpg", mimeType: r.mimeType,
                    width: r.width, height: r.height, content: .bytes(r.data))
            }
            return ProcessingOutput(
                renditions: renditions, width: image.width, height: image.height,
                metadata: [
                    "format": .string(image.format), "has_alpha": .bool(image.hasAlpha),
                    "animated": .bool(image.animated), "pages": .int(Int64(image.pages)),
                ])
        }
    }
}
