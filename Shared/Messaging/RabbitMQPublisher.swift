import Logging
import MediaDomain

/// The publisher connection: one thread, one connection, channel 1 in confirm mode, channel 2 for declares.
///
/// Publishes are batched: every queued publish is written, then Basic.Ack/Nack frames are read and each
/// publish's continuation is resumed on its confirm (honouring `multiple`). On connection loss every
/// unconfirmed publish fails with `MessagingError.connectionLost`; the next command reconnects (not more
/// often than the backoff allows).
final class RabbitMQPublisher: @unchecked Sendable {
    // @unchecked: the mutable state below is confined to the publisher thread; other threads only use `commands`.
    enum Command: Sendable {
        case publish(OutgoingMessage, CheckedContinuation<Void, any Error>)
        case declare(BrokerTopology, CheckedContinuation<Void, any Error>)
        case deleteQueue(String, CheckedContinuation<Void, any Error>)
        case deleteExchange(String, CheckedContinuation<Void, any Error>)
        case queueStatus(String, CheckedContinuation<QueueStatus, any Error>)
    }

    private static let publishChannel: UInt16 = 1
    private static let declareChannel: UInt16 = 2

    let commands = CommandQueue<Command>()
    let exited = ExitSignal()
    private let nodes: AMQPNodes
    /// The node to try first on the next connect: the one after the node whose connection was lost.
    private var preferredNode = 0
    /// The node of the current connection, for logs.
    private var connectedNode = 0
    private let heartbeat: Int32
    private let logger: Logger

    private var connection: AMQPConnection?
    private var declareChannelOpen = false
    private var pending: [(tag: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextTag: UInt64 = 1
    private var backoff = Backoff()
    private var nextConnectAttempt: ContinuousClock.Instant?

    init(nodes: AMQPNodes, heartbeat: Int32, logger: Logger) {
        self.nodes = nodes
        self.heartbeat = heartbeat
        self.logger = logger
    }

    func start() {
        startConnectionThread(name: "amqp-publisher") { [self] in run() }
    }

    private func run() {
        while true {
            // Idle: sleep on the queue (servicing heartbeats every second); confirms pending: don't block.
            let (batch, stopping) = commands.takeAll(waitingUpTo: pending.isEmpty ? 1 : 0)
            for command in batch { execute(command) }
            if stopping && pending.isEmpty { break }
            serviceFrames()
        }
        for command in commands.close() { fail(command, with: .shutdown("broker client closed")) }
        failPending(with: .shutdown("broker client closed"))
        connection?.close()
        connection = nil
        exited.fire()
    }

    private func execute(_ command: Command) {
        switch command {
        case .publish(let message, let continuation):
            guard let connection = connected(failing: command) else { return }
            do {
                try connection.publish(message, channel: Self.publishChannel)
                pending.append((nextTag, continuation))
                nextTag += 1
            } catch {
                continuation.resume(throwing: MessagingError.connectionLost(error.text))
                connectionLost(error.text)
            }
        case .declare(let topology, let continuation):
            guard let connection = connected(failing: command) else { return }
            do {
                if !declareChannelOpen {
                    try connection.openChannel(Self.declareChannel)
                    declareChannelOpen = true
                }
                for exchange in topology.exchanges {
                    try connection.declareExchange(exchange, channel: Self.declareChannel)
                }
                for queue in topology.queues { try connection.declareQueue(queue, channel: Self.declareChannel) }
                for binding in topology.bindings { try connection.bindQueue(binding, channel: Self.declareChannel) }
                continuation.resume()
            } catch {
                declareFailed(error, continuation)
            }
        case .deleteQueue(let name, let continuation):
            guard let connection = connected(failing: command) else { return }
            do {
                if !declareChannelOpen {
                    try connection.openChannel(Self.declareChannel)
                    declareChannelOpen = true
                }
                try connection.deleteQueue(name, channel: Self.declareChannel)
                continuation.resume()
            } catch {
                declareFailed(error, continuation)
            }
        case .queueStatus(let name, let continuation):
            guard let connection = connected(failing: command) else { return }
            do {
                if !declareChannelOpen {
                    try connection.openChannel(Self.declareChannel)
                    declareChannelOpen = true
                }
                continuation.resume(returning: try connection.queueStatus(queue: name, channel: Self.declareChannel))
            } catch {
                continuation.resume(throwing: MessagingError.declareFailed(error.text))
                switch error {
                case .channel: declareChannelOpen = false
                case .connection(let text): connectionLost(text)
                }
            }
        case .deleteExchange(let name, let continuation):
            guard let connection = connected(failing: command) else { return }
            do {
                if !declareChannelOpen {
                    try connection.openChannel(Self.declareChannel)
                    declareChannelOpen = true
                }
                try connection.deleteExchange(name, channel: Self.declareChannel)
                continuation.resume()
            } catch {
                declareFailed(error, continuation)
            }
        }
    }

    private func declareFailed(_ error: AMQPFailure, _ continuation: CheckedContinuation<Void, any Error>) {
        continuation.resume(throwing: MessagingError.declareFailed(error.text))
        switch error {
        case .channel: declareChannelOpen = false
        case .connection(let text): connectionLost(text)
        }
    }

    /// The live connection, connecting first if needed; nil (and `command` failed) when the broker is unreachable.
    private func connected(failing command: Command) -> AMQPConnection? {
        if let connection { return connection }
        let now = ContinuousClock.now
        if let nextConnectAttempt, now < nextConnectAttempt {
            fail(command, with: .connectionFailed("broker unreachable; next attempt in \(nextConnectAttempt - now)"))
            return nil
        }
        do throws(AMQPFailure) {
            let (connection, node) = try AMQPConnection.open(nodes, from: preferredNode, heartbeatSeconds: heartbeat)
        connectedNode = node
        preferredNode = nodes.endpoints.count > 1 ? node + 1 : 0
            do {
                try connection.openChannel(Self.publishChannel)
                try connection.confirmSelect(channel: Self.publishChannel)
            } catch {
                connection.close()
                throw error
            }
            self.connection = connection
            declareChannelOpen = false
            nextTag = 1
            backoff.reset()
            nextConnectAttempt = nil
            logger.info("publisher connected", metadata: ["amqp_url": "\(nodes.endpoints[connectedNode].redacted)"])
            return connection
        } catch {
            let delay = backoff.next()
            nextConnectAttempt = now + delay
            logger.warning("publisher cannot connect", metadata: [
                "amqp_url": "\(nodes.redacted)", "error": "\(error.text)", "retry_in": "\(delay)",
            ])
            fail(command, with: .connectionFailed(error.text))
            return nil
        }
    }

    /// Reads confirms (blocking briefly while some are pending) and services heartbeats.
    private func serviceFrames() {
        guard let connection else { return }
        var timeout: Duration = pending.isEmpty ? .zero : .milliseconds(20)
        do {
            while true {
                let event = try connection.waitFrame(timeout: timeout)
                switch event {
                case .ack(let tag, let multiple): settle(tag: tag, multiple: multiple, error: nil)
                case .nack(let tag, let multiple):
                    settle(tag: tag, multiple: multiple, error: .publishNacked("broker nacked the message"))
                    // A nack means a queue could not take the message: with quorum queues, one whose leader was lost.
                    // RabbitMQ 3.10 was seen to go on nacking every later publish of a channel that first published
                    // during such an election (a new process publishing the same messages succeeded), so the
                    // connection starts afresh, on the next node of a cluster; callers retry what was nacked.
                    connectionLost("broker nacked a publish; reconnecting")
                    return
                case .channelClosed(let channel, let text):
                    if channel == Self.publishChannel {
                        try reopenPublishChannel(after: text)
                    } else {
                        declareChannelOpen = false
                    }
                case .timeout:
                    return
                case .other:
                    break
                }
                // Keep draining frames already read; otherwise go back for new commands.
                guard connection.hasBufferedFrames else { return }
                timeout = .zero
            }
        } catch {
            connectionLost(error.text)
        }
    }

    private func settle(tag: UInt64, multiple: Bool, error: MessagingError?) {
        let settled: [CheckedContinuation<Void, any Error>]
        if multiple {
            let split = pending.partitioned { $0.tag <= tag }
            settled = split.matching.map(\.continuation)
            pending = split.rest
        } else if let index = pending.firstIndex(where: { $0.tag == tag }) {
            settled = [pending.remove(at: index).continuation]
        } else {
            settled = []
        }
        for continuation in settled {
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }

    /// The broker closed the confirm channel (e.g. publish to a missing exchange): its unconfirmed
    /// publishes failed; a fresh channel starts numbering confirms at 1 again.
    private func reopenPublishChannel(after text: String) throws(AMQPFailure) {
        logger.warning("broker closed the publish channel", metadata: ["error": "\(text)"])
        failPending(with: .publishFailed(text))
        guard let connection else { return }
        try connection.openChannel(Self.publishChannel)
        try connection.confirmSelect(channel: Self.publishChannel)
        nextTag = 1
    }

    private func connectionLost(_ text: String) {
        logger.warning("publisher connection lost", metadata: ["error": "\(text)", "unconfirmed": "\(pending.count)"])
        failPending(with: .connectionLost(text))
        connection?.close()
        connection = nil
        declareChannelOpen = false
    }

    private func failPending(with error: MessagingError) {
        let failed = pending
        pending = []
        for entry in failed { entry.continuation.resume(throwing: error) }
    }

    private func fail(_ command: Command, with error: MessagingError) {
        switch command {
        case .publish(_, let continuation), .declare(_, let continuation), .deleteQueue(_, let continuation),
             .deleteExchange(_, let continuation):
            continuation.resume(throwing: error)
        case .queueStatus(_, let continuation):
            continuation.resume(throwing: error)
        }
    }
}

extension Array {
    func partitioned(by belongs: (Element) -> Bool) -> (matching: [Element], rest: [Element]) {
        var matching: [Element] = []
        var rest: [Element] = []
        for element in self {
            if belongs(element) { matching.append(element) } else { rest.append(element) }
        }
        return (matching, rest)
    }
}
