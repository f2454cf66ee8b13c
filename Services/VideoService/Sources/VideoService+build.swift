import Logging
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The VideoService process: the shared processor service around the libav transcoder.
/// Prefetch equals the worker count, so any number of these processes can share `video-service`; a killed
/// one leaves its unacked message to the broker, which redelivers it to another.
public func buildVideoService(
    configuration: VideoServiceConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    let pool = BlockingWorkPool(threads: configuration.workers, name: "libav")
    return try buildProcessorService(
        processor: VideoProcessor(pool: pool),
        settings: ProcessorSettings(
            name: "video", opsHost: configuration.opsHost, opsPort: configuration.opsPort,
            worker: .init(concurrency: configuration.workers, jobTimeout: configuration.jobTimeout, drainTimeout: configuration.drainTimeout).guarded(by: configuration.jobSafety),
            databaseConnections: 2, scanning: configuration.scanning),
        common: configuration.common, registry: registry, logger: logger)
}
