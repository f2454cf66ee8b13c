import Foundation
import Messaging
@testable import Operations
import Testing

@Suite("Dead letters: reading what was parked")
struct ParkedLetterTests {
    /// A letter a quorum work queue parked by its delivery limit carries none of our headers, only the broker's: it is
    /// recorded with the broker's reason, and its replay goes back to the work queue it left.
    @Test func aLetterTheBrokerParkedIsReplayedIntoItsWorkQueue() {
        let parked = DeadLetters.parked(from: IncomingMessage(
            queue: "image-service.dead", exchange: "", routingKey: "image-service.dead",
            body: Array(#"{"media_id": 42, "generation": 3}"#.utf8), messageId: "e1", type: "media.uploaded",
            headers: ["x-first-death-reason": "delivery_limit", "x-first-death-queue": "image-service",
                      "x-first-death-exchange": "mediaflow"],
            redelivered: false), queue: "image-service.dead")
        #expect(parked.letter.code == "delivery_limit")
        #expect(parked.letter.message.contains("\(QueueType.deliveryLimit) deliveries from image-service"), "\(parked.letter.message)")
        #expect(parked.letter.mediaId == 42)
        #expect(parked.letter.generation == 3)
        #expect(parked.exchange == "" && parked.routingKey == "image-service", "back into the work queue, not the dead one")
    }

    @Test func aLetterOurConsumerParkedKeepsItsOriginalRoute() {
        let parked = DeadLetters.parked(from: IncomingMessage(
            queue: "image-service.dead", exchange: "", routingKey: "image-service.dead", body: [], messageId: "e2",
            type: "media.uploaded",
            headers: [MessageHeaders.originalExchange: "mediaflow", MessageHeaders.originalRoutingKey: "media.uploaded.image",
                      MessageHeaders.failureCode: "decode_failed"],
            redelivered: false), queue: "image-service.dead")
        #expect(parked.letter.code == "decode_failed")
        #expect(parked.exchange == "mediaflow" && parked.routingKey == "media.uploaded.image")
    }
}
