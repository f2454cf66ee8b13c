import Foundation
import Gateway
import Logging
import NIOCore
import NIOPosix
import ServiceKit

@main
struct GatewayMain {
    static func main() async {
        // Tasks run on NIO's event loops instead of hopping between them and Swift's cooperative pool for every
        // request and every query (the Gateway blocks nowhere: file I/O goes to NIO's thread pool).
        let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
            print(GatewayConfiguration.help)
            return
        }
        do {
            let configuration = try GatewayConfiguration()
            let observability = try Observability.bootstrap(service: "gateway", configuration: configuration.common)
            let logger = Logger(label: "mediaflow.gateway")
            let descriptors = FileDescriptorLimit.raiseToHardLimit()
            if descriptors < 8_192 {
                logger.warning("few open files allowed: each client connection (a live-status stream too) takes one",
                               metadata: ["limit": "\(descriptors)"])
            }
            if !installed { logger.warning("NIO's event loops could not become the global executor; running on the default one") }
            let app = try await buildApplication(configuration: configuration, registry: observability.registry, logger: logger)
            try await observability.run { try await app.runService() }
        } catch {
            FileHandle.standardError.write(Data("mediaflow-gateway: \(error)\n".utf8))
            exit(1)
        }
    }
}
