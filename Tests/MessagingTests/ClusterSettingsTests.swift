import Testing
@testable import Messaging

/// `MEDIA_AMQP_URL` naming a cluster, and `MEDIA_AMQP_QUEUE_TYPE=quorum` (SPEC §9).
@Suite("Cluster settings: several nodes, quorum queues")
struct ClusterSettingsTests {
    @Test func severalNodesShareTheFirstOnesCredentialsAndVhost() throws {
        let nodes = try AMQPNodes(url: "amqp://u:p@10.0.0.1:5672/media, 10.0.0.2:5673,amqp://x:y@10.0.0.3/other")
        #expect(nodes.endpoints.map(\.host) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        #expect(nodes.endpoints.map(\.port) == [5672, 5673, 5672])
        #expect(nodes.endpoints[1].user == "u" && nodes.endpoints[1].password == "p" && nodes.endpoints[1].vhost == "media")
        #expect(nodes.endpoints[2].user == "x" && nodes.endpoints[2].vhost == "other", "a full URL keeps its own")
        #expect(!nodes.redacted.contains(":p@"), "no password in logs: \(nodes.redacted)")
        #expect(try AMQPNodes(url: "amqp://u:p@h/").endpoints.count == 1)
        for bad in ["", "amqp://u:p@h/,u2@h2:1", "http://h/", "amqp://u:p@h/,h2/x"] {
            #expect(throws: MessagingError.self, "\(bad)") { try AMQPNodes(url: bad) }
        }
    }

    @Test func quorumMakesEveryQueueQuorumAndItsDeadLetteringAtLeastOnce() throws {
        let topology = BrokerTopology.workQueue(
            name: "image-service", exchange: "mediaflow", routingKeys: ["media.uploaded.image"],
            retryDelays: [.seconds(1), .seconds(5)])
        #expect(QueueType.classic.applied(to: topology) == topology, "classic declares as before")
        let quorum = QueueType.quorum.applied(to: topology)
        #expect(quorum.queues.count == 4)
        for queue in quorum.queues {
            #expect(queue.arguments["x-queue-type"] == .string("quorum"), "\(queue.name)")
            let deadLetters = queue.arguments["x-dead-letter-exchange"] != nil
            #expect(deadLetters == !queue.name.hasSuffix(".dead"), "\(queue.name)")
            if deadLetters {
                #expect(queue.arguments["x-dead-letter-strategy"] == .string("at-least-once"))
                #expect(queue.arguments["x-overflow"] == .string("reject-publish"))
            }
        }
        // The work queue itself: a message delivered too often goes to its dead queue (the broker's crash rule).
        let work = try #require(quorum.queues.first { $0.name == "image-service" })
        #expect(work.arguments["x-delivery-limit"] == .int(QueueType.deliveryLimit))
        #expect(work.arguments["x-dead-letter-routing-key"] == .string("image-service.dead"))
        #expect(quorum.queues.filter { $0.arguments["x-delivery-limit"] != nil }.map(\.name) == ["image-service"])
    }
}
