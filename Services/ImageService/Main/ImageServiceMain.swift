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
            let observability = try Observability.bootstrap(service: "image", configuration: configuration.common)
            let logger = Logger(label: "mediaflow.image")
            let service = try buildImageService(configuration: configuration, registry: observability.registry, logger: logger)
            try await observability.run { try await service.run() }
        } catch {
            FileHandle.standardError.write(Data("mediaflow-image: \(error)\n".utf8))
            exit(1)
        }
    }
}
