import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MediaDomain
import Synchronization
import Testing
import TestSupport

/// A RabbitMQ node lost mid-burst (SPEC §9): the services run against the test command's three-node cluster
/// (`scripts/rabbitmq-cluster.sh test`) with `MEDIA_AMQP_QUEUE_TYPE=quorum`, and the node every client connected to
/// first is stopped while uploads keep coming. The clients fail over to the next node, the quorum queues elect new
/// leaders on the two that are left, and nothing is lost or done twice.
@Suite("End to end: a RabbitMQ cluster node lost", .serialized,
       .enabled(if: Stack.available && Stack.env["MEDIA_TEST_CLUSTER_AMQP_URL"] != nil
                    && Stack.env["MEDIA_TEST_CLUSTER_CTL"] != nil, "needs make test's servers, build and RabbitMQ cluster"))
struct BrokerClusterEndToEndTests {
    func cluster(_ command: String) async throws {
        guard let ctl = Stack.env["MEDIA_TEST_CLUSTER_CTL"] else { throw StackError("MEDIA_TEST_CLUSTER_CTL not set") }
        guard await runShell("\(ctl) \(command) >/dev/null 2>&1") == 0 else { throw StackError("cluster \(command) failed") }
    }

    func clusterOutput(_ command: String) async throws -> String {
        guard let ctl = Stack.env["MEDIA_TEST_CLUSTER_CTL"] else { throw StackError("MEDIA_TEST_CLUSTER_CTL not set") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        guard await runShell("\(ctl) \(command) > '\(out)' 2>&1") == 0 else { throw StackError("cluster \(command) failed") }
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    @Test(.timeLimit(.minutes(6)))
    func aNodeStoppedMidBurstLosesNoUploadAndProcessesNothingTwice() async throws {
        let url = try #require(Stack.env["MEDIA_TEST_CLUSTER_AMQP_URL"])
        for node in 1...3 { try await cluster("node-start \(node)") }
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let stack = try await Stack.start(
            processors: ["mediaflow-image", "mediaflow-audio"], logDirectory: logs,
            overrides: ["MEDIA_AMQP_URL": url, "MEDIA_AMQP_QUEUE_TYPE": "quorum"])
        defer { stack.stop() }
        var restarted = false
        defer { if !restarted { _ = runShellBlockingForCleanup("\(Stack.env["MEDIA_TEST_CLUSTER_CTL"] ?? "false") node-start 1") } }

        let queues = try await clusterOutput("ctl 2 list_queues name type")
        for queue in ["image-service", "image-service.retry.1", "image-service.dead", "audio-service", "gateway.status"] {
            #expect(queues.contains("\(queue)\tquorum"), "\(queue) is a quorum queue: \(queues)")
        }

        let photo = try await Fixtures.jpeg(width: 640, height: 480)
        let voice = try await Fixtures.make("voice.wav", "-f lavfi -i sine=frequency=330:duration=2")
        let owner: Int64 = 7501
        let burst = Burst()
        // 30 uploads from 3 clients; node 1 is stopped once ten are answered (while the next five go on) and stays
        // down to the end; the last fifteen wait until it is down, so they are answered while it is.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    while let n = burst.take(below: 30) {
                        while n >= 15, !burst.nodeDown.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                        let (bytes, name) = n % 3 == 2 ? (voice, "node-\(n).wav") : (photo, "node-\(n).jpg")
                        let reply = try await stack.upload(bytes, filename: name, user: owner)
                        #expect(reply.status == 201, "upload \(n) answered \(reply.status)")
                        burst.answered(reply.json["id"]?.intValue)
                    }
                }
            }
            group.addTask {
                while burst.ids.withLock({ $0.count }) < 10 { try await Task.sleep(for: .milliseconds(20)) }
                try await self.cluster("node-stop 1")
                burst.nodeDown.withLock { $0 = true }
            }
            try await group.waitForAll()
        }
        let all = burst.ids.withLock { $0 }
        #expect(all.count == 30, "every upload was answered with its media")
        #expect(burst.answeredWhileDown.withLock { $0 } > 0, "uploads were answered while the node was down")
        for id in all {
            let media = try await stack.waitFor(id, user: owner, timeout: .seconds(120))
            #expect(media["status"] == "ready", "media \(id) ended ready with a node down: \(media)")
        }
        // Each processed once: one "media ready" line per media across the processors' logs.
        let text = ["mediaflow-image", "mediaflow-audio"].compactMap {
            try? String(contentsOfFile: "\(logs)/\($0).log", encoding: .utf8)
        }.joined(separator: "\n")
        for id in all {
            let times = text.split(separator: "\n").filter { $0.contains("media ready") && $0.contains("media_id=\(id) ") }.count
            #expect(times == 1, "media \(id) processed once (\(times) times)")
        }
        #expect(text.contains("127.0.0.1:") && text.contains("consumer connected"), "the processors reconnected")
        try await cluster("node-start 1")
        restarted = true
    }
}

/// The burst's shared state: which upload is next, the media made, and how many were answered with the node down.
final class Burst: Sendable {
    let next = Mutex(0)
    let ids = Mutex<[Int64]>([])
    let nodeDown = Mutex(false)
    let answeredWhileDown = Mutex(0)

    func take(below limit: Int) -> Int? {
        next.withLock { n -> Int? in
            guard n < limit else { return nil }
            defer { n += 1 }
            return n
        }
    }

    func answered(_ id: Int64?) {
        if let id { ids.withLock { $0.append(id) } }
        if nodeDown.withLock({ $0 }) { answeredWhileDown.withLock { $0 += 1 } }
    }
}

/// A shell command from a `defer` (which cannot await): best effort, for putting servers back.
func runShellBlockingForCleanup(_ command: String) -> Int32 {
    do {
        let process = try ChildProcess("/bin/sh", ["-c", command])
        process.waitUntilExit()
        return process.terminationStatus
    } catch {
        return -1
    }
}
