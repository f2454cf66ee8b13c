import Logging
import MediaDomain
import Messaging

extension MessageBroker {
    /// Declares `topology`, retrying with growing delay while the broker is unreachable, so a service can
    /// start before its broker and catch up. Returns when declared or when the task is cancelled.
    public func declareWhenReachable(_ topology: BrokerTopology, logger: Logger) async throws {
        var backoff = Backoff(initial: .milliseconds(200))
        while true {
            do {
                try await declare(topology)
                return
            } catch {
                let delay = backoff.next()
                logger.warning("broker topology not declared; retrying", metadata: [
                    "error": "\(error)", "retry_in": "\(delay)",
                ])
                try await Task.sleep(for: delay)
            }
        }
    }
}
