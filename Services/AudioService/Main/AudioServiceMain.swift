import Foundation
import AudioService
import Logging
import ServiceKit

@main
struct AudioServiceMain {
    static func main() async {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(AudioServiceConfiguration.help)
            return
        }
        do {
            let configuration = try AudioServiceConfiguration()
            let observability = try Observability.bootstrap(service: "audio", configuration: configuration.common)
            let logger = Logger(label: "mediaflow.audio")
            let service = try buildAudioService(configuration: configuration, registry: observability.registry, logger: logger)
            try await observability.run { try await service.run() }
        } catch {
            FileHandle.standardError.write(Data("mediaflow-audio: \(error)\n".utf8))
            exit(1)
        }
    }
}
