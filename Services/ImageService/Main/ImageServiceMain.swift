import Foundation
import ImageService
import Logging
import ServiceKit

@main
struct ImageServiceMain {
    static func main() async {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(ImageServiceConfiguration.help)
            return
        }
        do {
            let configuration = try ImageServiceConfiguration()
            let registry = Observability.bootstrap(service: "image", logLevel: configuration.common.logLevel)
            let logger = Logger(label: "mediaflow.image")
            try await buildImageService(configuration: configuration, registry: registry, logger: logger).run()
        } catch {
            FileHandle.standardError.write(Data("mediaflow-image: \(error)\n".utf8))
            exit(1)
        }
    }
}
