import Foundation
import Logging
import MediaDomain
import NIOCore
import Persistence
import PostgresNIO
import Synchronization
import Testing
import Tokens

@testable import Gateway
import GatewayAPI
import GatewayAdmin
import GatewayFairUse
import GatewayKit
import GatewayLiveStatus
import GatewayUploads
import GatewayWebhooks

/// Live status on the real PostgreSQL when transactions commit out of order (issue 27, defect 4): the event of a
/// transaction that began first but commits 4 s after a later one (longer than the 3 s the old sequencer waited for a
/// gap) reaches a stream that is already past the later one, and every resume, exactly once.
@Suite("Live status in commit order", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct LiveStatusOrderTests {
    /// The frames a stream wrote, as (position, type) pairs, and whether it ended.
    final class Frames: Sendable {
        let seen = Mutex<[(position: Int64, type: String)]>([])

        func add(_ buffer: ByteBuffer) {
            let text = String(buffer: buffer)
            guard text.hasPrefix("id: ") else { return }
            let lines = text.split(separator: "\n")
            guard let position = Int64(lines[0].dropFirst(4)), lines.count > 1 else { return }
            seen.withLock { $0.append((position, String(lines[1].dropFirst("event: ".count)))) }
        }

        var positions: [Int64] { seen.withLock { $0.map(\.position) } }

        /// Waits (on the frames, not on a clock) until `done` holds; gives up after `limit`.
        func wait(until done: ([Int64]) -> Bool, limit: Duration = .seconds(20)) async throws -> [Int64] {
            let deadline = ContinuousClock.now + limit
            while !done(positions) {
                guard ContinuousClock.now < deadline else { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            return positions
        }
    }

    func newMedia(_ user: Int64, _ format: MediaFormat) -> NewMedia {
        NewMedia(userId: user, username: "u\(user)", format: format, fileSize: 10, originalFilename: "a.\(format.rawValue)",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: format), isPublic: true)
    }

    @Test(.timeLimit(.minutes(1))) func anEventCommittedLateReachesEveryStreamAndEveryResume() async throws {
        try await TestServers.withDatabase { client, repository in
            let logger = TestServers.logger
            let log = PostgresMediaEventLog(client: client, logger: logger)
            let hub = MediaEventHub()
            let listener = MediaEventListener(client: client, log: log, hub: hub, keepAliveInterval: .seconds(60), logger: logger)
            let controller = LiveStatusController(
                hub: hub, log: log, tickets: MemoryEventStreamTicketStore(), authenticator: JWTAuthenticator(secret: "x"),
                links: MediaLinks(baseURL: "http://media.test", signer: URLSigner(secret: "s", lifetime: .seconds(60))))
            let user = PostgresRepositoryTests.freshUser()
            // Of three types: a user's counters are rows per type and status, which two folds of one type would both
            // lock (the second would wait for the first to commit, and there would be nothing out of order to see).
            guard case .created(let first) = try await repository.create(newMedia(user, .jpeg)),
                  case .created(let second) = try await repository.create(newMedia(user, .mp4)),
                  case .created(let probe) = try await repository.create(newMedia(user, .mp3))
            else { Issue.record("not created"); return }
            func ready(_ media: Media) -> MediaReady {
                MediaReady(mediaId: media.id, generation: 1, renditions: [:], width: 1, height: 1, duration: nil,
                           bitrate: nil, metadata: [:], processingMs: 1)
            }

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await listener.run() }
                let live = Frames()
                group.addTask {
                    try await controller.serve(userId: user, resumeFrom: nil, expiresAt: nil, logger: logger) { live.add($0) }
                }
                // The stream is open and the listener listening once a probe event reaches the stream.
                var heardProbe = false
                while !heardProbe {
                    _ = try await repository.apply(.progress(MediaProgress(mediaId: probe.id, generation: 1, percent: 1)),
                                                   consumer: "itest")
                    heardProbe = try await !live.wait(until: { !$0.isEmpty }, limit: .milliseconds(500)).isEmpty
                    if !heardProbe {
                        // Not listening yet: move the probe's progress so the next change is an event again.
                        _ = try await client.query("UPDATE media SET metadata = '{}' WHERE id = \(probe.id)", logger: logger)
                    }
                }
                let before = try #require(live.positions.last)

                // Transaction A makes `first` ready (its event row is written now) and holds its commit; B makes
                // `second` ready and commits at once.
                let (aWrote, wrote) = AsyncStream.makeStream(of: Void.self)
                let (commitA, commit) = AsyncStream.makeStream(of: Void.self)
                group.addTask {
                    try await client.withConnection { connection in
                        try await connection.query("BEGIN", logger: logger)
                        try await connection.query(
                            "UPDATE media SET status = 'ready', updated_at = now() WHERE id = \(first.id)", logger: logger)
                        wrote.yield()
                        for await _ in commitA { break }
                        try await connection.query("COMMIT", logger: logger)
                    }
                }
                for await _ in aWrote { break }
                _ = try await repository.apply(.ready(ready(second)), consumer: "itest")
                let afterB = try await live.wait { $0.count == 2 }
                #expect(afterB.count == 2, "B's event is live while A has not committed: \(afterB)")
                let positionOfB = try #require(afterB.last)

                // Longer than the 3 s the sequencer used to wait for a gap.
                try await Task.sleep(for: .seconds(4))
                commit.yield()
                let afterA = try await live.wait { $0.count == 3 }
                #expect(afterA.count == 3 && afterA == afterA.sorted(), "A's event reached the stream after B's: \(afterA)")
                let positionOfA = try #require(afterA.last)
                #expect(positionOfA > positionOfB, "A is positioned where it became visible, after B")

                // Resumes: after the probe → both; after B → A. Each once.
                for (after, expected) in [(before, [positionOfB, positionOfA]), (positionOfB, [positionOfA])] {
                    let resumed = Frames()
                    let replay = Task {
                        try await controller.serve(userId: user, resumeFrom: after, expiresAt: nil, logger: logger) {
                            resumed.add($0)
                        }
                    }
                    let got = try await resumed.wait { $0.count >= expected.count }
                    replay.cancel()
                    #expect(got == expected, "resume after \(after)")
                }
                let types = live.seen.withLock { $0.map(\.type) }
                #expect(types == ["media.progress", "media.ready", "media.ready"], "\(types)")
                group.cancelAll()
            }
        }
    }
}
