import Foundation
import Persistence
import Testing

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

/// `withDatabaseDeadline`: what a database call that waits too long turns into (FaultToleranceEndToEndTests has
/// the real PostgreSQL outage).
struct DatabaseDeadlineTests {
    struct Refused: Error, Equatable {}

    @Test func aCallStillWaitingAtTheDeadlineIsCancelledAndUnavailable() async throws {
        let started = ContinuousClock.now
        await #expect(throws: DatabaseUnavailable.self) {
            try await withDatabaseDeadline(.milliseconds(200)) {
                try await Task.sleep(for: .seconds(60))  // like waiting for a pool connection: cancellable
                return 1
            }
        }
        #expect(started.duration(to: .now) < .seconds(10))
    }

    @Test func aCallThatFinishesAnywayAnswersWithItsResult() async throws {
        // Not cancellable, like a query already sent: its real outcome wins over the deadline.
        let value = try await withDatabaseDeadline(.milliseconds(50)) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { continuation.resume(returning: 7) }
            }
        }
        #expect(value == 7)
    }

    @Test func aQuickCallKeepsItsValueOrError() async throws {
        #expect(try await withDatabaseDeadline(.seconds(5)) { 42 } == 42)
        await #expect(throws: Refused()) {
            try await withDatabaseDeadline(.seconds(5)) { () async throws -> Int in throw Refused() }
        }
    }
}
