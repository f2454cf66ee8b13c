import Foundation
import Messaging
import Synchronization

/// Collects values from concurrent handlers.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])

    func append(_ value: Value) { storage.withLock { $0.append(value) } }
    var values: [Value] { storage.withLock { $0 } }
    var count: Int { storage.withLock { $0.count } }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(
    timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(10),
    _ condition: @Sendable () async -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return await condition()
}

func uniqueName(_ prefix: String) -> String {
    "\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
}

func message(
    exchange: String, routingKey: String, body: String = "{}", id: String = UUID().uuidString,
    type: String = "media.uploaded", headers: [String: String] = [:]
) -> OutgoingMessage {
    OutgoingMessage(
        exchange: exchange, routingKey: routingKey, body: Array(body.utf8), messageId: id, type: type,
        headers: headers)
}
