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
            let registry = Observability.bootstrap(service: "audio", logLevel: configuration.common.logLevel)
            let logger = Logger(label: "mediaflow.audio")
            try await buildAudioService(configuration: configuration, registry: registry, logger: logger).run()
        } catch {
            FileHandle.standardError.write(Data("mediaflow-audio: \(error)\n".utf8))
            exit(1)
        }
    }
}
