import Foundation
import Gateway
import Logging
import ServiceKit

@main
struct GatewayMain {
    static func main() async {
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(GatewayConfiguration.help)
            return
        }
        do {
            let configuration = try GatewayConfiguration()
            let registry = Observability.bootstrap(service: "gateway", logLevel: configuration.common.logLevel)
            let logger = Logger(label: "mediaflow.gateway")
            let app = try await buildApplication(configuration: configuration, registry: registry, logger: logger)
            try await app.runService()
        } catch {
            FileHandle.standardError.write(Data("mediaflow-gateway: \(error)\n".utf8))
            exit(1)
        }
    }
}
