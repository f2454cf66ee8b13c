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
            let registry = Observability.bootstrap(service: "janitor", logLevel: configuration.common.logLevel)
            let logger = Logger(label: "mediaflow.janitor")
            try await buildJanitor(configuration: configuration, registry: registry, logger: logger).run()
        } catch {
            FileHandle.standardError.write(Data("mediaflow-janitor: \(error)\n".utf8))
            exit(1)
        }
    }
}
