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
            let registry = Observability.bootstrap(service: "video", logLevel: configuration.common.logLevel)
            let logger = Logger(label: "mediaflow.video")
            try await buildVideoService(configuration: configuration, registry: registry, logger: logger).run()
        } catch {
            FileHandle.standardError.write(Data("mediaflow-video: \(error)\n".utf8))
            exit(1)
        }
    }
}
