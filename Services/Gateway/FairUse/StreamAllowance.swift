import Foundation
import GatewayKit
import Logging
import Persistence
import ServiceLifecycle
import Synchronization

/// The cap on a user's open live-status streams across Gateways (SPEC §10): each stream is registered before it is
/// answered and removed when it ends, and this Gateway beats the heartbeat of the ones it serves, so the streams of a
/// Gateway that died stop counting within `streamStaleAfter`.
package final class StreamAllowance: Sendable {
    package let registry: any LiveStreamRegistry
    package let settings: FairUseSettings
    /// This process, as `live_streams.gateway` records it.
    package let gateway: String
    private let serving = Mutex<Set<UUID>>([])

    package init(registry: any LiveStreamRegistry, settings: FairUseSettings,
                 gateway: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)") {
        self.registry = registry
        self.settings = settings
        self.gateway = gateway
    }

    /// Registers a stream of `userId`; 429 `too_many_streams` when the user has the most already, 503 `unavailable`
    /// when the database cannot tell.
    package func open(userId: Int64, logger: Logger) async throws -> UUID {
        let limit = settings.maxStreamsPerUser
        let stale = settings.streamStaleAfter
        let opened = try await fairUseCheck("the open streams", refusing: "stream", deadline: .seconds(3), logger: logger) {
            [registry, gateway] in
            try await registry.open(userId: userId, gateway: gateway, limit: limit, staleAfter: stale)
        }
        guard let opened else {
            logger.info("live status: stream refused, the user has the most open", metadata: [
                "user_id": "\(userId)", "limit": "\(limit)",
            ])
            throw APIError(.tooManyRequests, code: "too_many_streams",
                           detail: "You have \(limit) live-status streams open already; close one first.",
                           headers: [.retryAfter: "\(settings.streamStaleAfter.components.seconds)"])
        }
        serving.withLock { _ = $0.insert(opened) }
        return opened
    }

    /// Removes an ended stream; a failure leaves it to lapse (its heartbeat stops now).
    package func close(_ id: UUID, logger: Logger) async {
        serving.withLock { _ = $0.remove(id) }
        do {
            try await registry.close(id)
        } catch {
            logger.warning("live status: an ended stream was not unregistered; it stops counting once its heartbeat is stale",
                           metadata: ["stream": "\(id)", "error": "\(DatabaseFailure.describe(error))"])
        }
    }

    /// Beats the heartbeat of every stream this Gateway serves, every `streamHeartbeat`, until shutdown.
    package func beat(logger: Logger) async {
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: settings.streamHeartbeat)
                } catch {
                    return
                }
                let ids = Array(serving.withLock { $0 })
                do {
                    try await registry.heartbeat(ids)
                } catch {
                    logger.warning("live status: the streams' heartbeat failed; the next one tries again",
                                   metadata: ["error": "\(DatabaseFailure.describe(error))"])
                }
            }
        }
    }
}
