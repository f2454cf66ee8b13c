import Foundation
import Logging
import ServiceKit
import VideoService

@main
struct VideoServiceMain {
    static func main() async {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(VideoServiceConfiguration.help)
            return
        }
        do {
            let configuration = try VideoServiceConfiguration()
            let observability = try Observability.bootstrap(service: "video", configuration: configuration.common)
            let logger = Logger(label: "mediaflow.video")
            let service = try buildVideoService(configuration: configuration, registry: observability.registry, logger: logger)
            try await observability.run { try await service.run() }
        } catch {
            FileHandle.standardError.write(Data("mediaflow-video: \(error)\n".utf8))
            exit(1)
        }
    }
}
