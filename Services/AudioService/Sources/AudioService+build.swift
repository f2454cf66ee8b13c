import Logging
import Prometheus
import ServiceKit
import ServiceLifecycle

/// The AudioService process: the shared processor service around the libav MP3 transcoder.
public func buildAudioService(
    configuration: AudioServiceConfiguration, registry: PrometheusCollectorRegistry, logger: Logger
) throws -> ServiceGroup {
    let pool = BlockingWorkPool(threads: configuration.concurrency, name: "libav-audio")
    return try buildProcessorService(
        processor: AudioProcessor(pool: pool),
        settings: ProcessorSettings(
            name: "audio", opsHost: configuration.opsHost, opsPort: configuration.opsPort,
            worker: .init(concurrency: configuration.concurrency, jobTimeout: .seconds(300), drainTimeout: configuration.drainTimeout).guarded(by: configuration.jobSafety),
            scanning: configuration.scanning),
        common: configuration.common, registry: registry, logger: logger)
}
