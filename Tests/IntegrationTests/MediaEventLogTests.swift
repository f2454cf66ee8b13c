import Foundation
import MediaDomain
import Persistence
import PostgresNIO
import Synchronization
import Testing

/// The media event log on the real PostgreSQL: the trigger records what a user's clients are told, in the transaction
/// that changed the row, and announces it with its position at commit.
@Suite("Media event log", .enabled(if: TestServers.available, "needs MEDIA_TEST_DATABASE_URL (make test)"))
struct MediaEventLogTests {
    func newMedia(_ user: Int64) -> NewMedia {
        NewMedia(userId: user, username: "u\(user)", format: .mp4, fileSize: 1234, originalFilename: "clip.mp4",
                 storageKey: StorageKeys.original(folder: UUID().uuidString.lowercased(), format: .mp4), isPublic: true)
    }

    @Test(.timeLimit(.minutes(1))) func progressReadyFailedAndDeletedAreRecordedInOrderPerUser() async throws {
        try await TestServers.withDatabase { client, repo in
            let log = PostgresMediaEventLog(client: client, logger: TestServers.logger)
            let user = PostgresRepositoryTests.freshUser(), other = PostgresRepositoryTests.freshUser()
            let start = try await log.latestPosition()

            // Announcements, heard on the channel while the changes happen. `listen` hands over the notifications once
            // LISTEN has been answered: from then on nothing announced is missed.
            let heard = Heard()
            let (listeningStarted, started) = AsyncStream.makeStream(of: Void.self)
            let listening = Task {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresMediaEventLog.channel) { notifications in
                        started.yield()
                        for try await notification in notifications { heard.values.withLock { $0.append(notification.payload) } }
                    }
                }
            }
            defer { listening.cancel() }
            for await _ in listeningStarted { break }

            guard case .created(let clip) = try await repo.create(newMedia(user)),
                  case .created(let theirs) = try await repo.create(newMedia(other))
            else { Issue.record("not created"); return }
            for percent in [30.0, 30.0, 60.0] {   // the same progress twice is told once
                _ = try await repo.apply(.progress(MediaProgress(mediaId: clip.id, generation: 1, percent: percent)), consumer: "itest")
            }
            let ready = MediaReady(mediaId: clip.id, generation: 1, renditions: [:], width: 1, height: 1, duration: 2,
                                   bitrate: nil, metadata: [:], processingMs: 1)
            _ = try await repo.apply(.ready(ready), consumer: "itest")
            _ = try await repo.apply(.ready(ready), consumer: "itest")   // a duplicate delivery: nothing new
            let failed = MediaFailed(mediaId: theirs.id, generation: 1, error: MediaError(code: "x", message: "x"), attempts: 1)
            _ = try await repo.apply(.failed(failed), consumer: "itest")
            _ = try await repo.delete(id: clip.id, userId: user)

            let mine = try await log.events(userId: user, after: start, maxAge: .seconds(86_400), limit: 100)
            #expect(mine.map(\.type) == ["media.progress", "media.progress", "media.ready", "media.deleted"])
            #expect(mine.map(\.percent) == [30, 60, nil, nil])
            #expect(mine.allSatisfy { $0.mediaId == clip.id && $0.userId == user })
            #expect(mine.map(\.position) == mine.map(\.position).sorted() && Set(mine.map(\.position)).count == 4)
            // Each event carries the media as the event left it, even after the media was deleted.
            #expect(mine.last?.media?.originalFilename == "clip.mp4" && mine.last?.media?.id == clip.id, "\(String(describing: mine.last))")
            #expect(mine[2].media?.status == .ready && mine[2].media?.id == clip.id && mine[2].media?.duration == 2,
                    "the ready media as it was when ready: \(String(describing: mine[2].media))")
            #expect(mine[0].media == nil, "progress carries no media")
            #expect(try await log.events(ids: [mine[1].id, mine[0].id]).map(\.id) == [mine[0].id, mine[1].id])
            let theirsEvents = try await log.events(userId: other, after: start, maxAge: .seconds(86_400), limit: 100)
            #expect(theirsEvents.map(\.type) == ["media.failed"])
            #expect(theirsEvents.first?.media?.status == .failed, "the failed media as it is now")

            // Resuming after a position gives the rest; the whole log after `start` holds both users'.
            let first = try #require(mine.first?.position)
            #expect(try await log.events(userId: user, after: first, maxAge: .seconds(86_400), limit: 100).count == 3)
            #expect(try await log.events(positions: [mine[1].position, first]).map(\.id) == [mine[0].id, mine[1].id])
            let all = try await log.events(after: start, limit: 1000).filter { [user, other].contains($0.userId) }
            #expect(all.count == 5)

            // Too old for a resume, then pruned.
            try await client.query("UPDATE media_events SET created_at = now() - interval '25 hours' WHERE position = \(first)",
                                   logger: TestServers.logger)
            #expect(try await log.events(userId: user, after: start, maxAge: .seconds(86_400), limit: 100).count == 3)
            #expect(try await log.pruneEvents(olderThan: .seconds(86_400)) >= 1)

            let expected = all.map { "\($0.position) \($0.userId)" }
            let announced = await eventuallyValue(heard) { value in expected.allSatisfy(value.contains) }
            #expect(expected.allSatisfy(announced.contains), "announced \(announced), expected \(expected)")
        }
    }
}

/// Payloads heard on a channel.
final class Heard: Sendable {
    let values = Mutex<[String]>([])
}

/// Polls `heard` until `done` holds (or 5 s pass); returns what was heard.
private func eventuallyValue(_ heard: Heard, _ done: ([String]) -> Bool) async -> [String] {
    for _ in 0..<50 {
        let value = heard.values.withLock { $0 }
        if done(value) { return value }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return heard.values.withLock { $0 }
}
