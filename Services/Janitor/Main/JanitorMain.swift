import Foundation
import Janitor
import Logging
import ServiceKit

@main
struct JanitorMain {
    static func main() async {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(JanitorConfiguration.help)
            return
        }
        do {
            let configuration = try JanitorConfiguration()
            let observability = try Observability.bootstrap(service: "janitor", configuration: configuration.common)
            let logger = Logger(label: "mediaflow.janitor")
            let service = try buildJanitor(configuration: configuration, registry: observability.registry, logger: logger)
            try await observability.run { try await service.run() }
        } catch {
            FileHandle.standardError.write(Data("mediaflow-janitor: \(error)\n".utf8))
            exit(1)
        }
    }
}
