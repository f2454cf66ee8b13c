import Logging
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The ImageService process: the shared processor service around libvips renditions.
public func buildImageService(
    configuration: ImageServiceConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    let pool = BlockingWorkPool(threads: configuration.concurrency, name: "vips")
    return try buildProcessorService(
        processor: ImageProcessor(pool: pool, maxPixels: configuration.common.limits.maxImagePixels,
                                  avif: configuration.avif),
        settings: ProcessorSettings(
            name: "image", opsHost: configuration.opsHost, opsPort: configuration.opsPort,
            worker: .init(concurrency: configuration.concurrency, jobTimeout: .seconds(120), drainTimeout: configuration.drainTimeout).guarded(by: configuration.jobSafety),
            scanning: configuration.scanning),
        common: configuration.common, registry: registry, logger: logger)
}
