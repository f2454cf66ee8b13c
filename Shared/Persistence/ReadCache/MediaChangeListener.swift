import Logging
import MediaDomain
import PostgresNIO

/// Keeps `MediaReadCache` honest across processes: listens on PostgreSQL's `media_changed` channel (a trigger
/// notifies `"<media id> <user id>"` on every insert, update and delete of a media row) and drops what each change
/// touched. The cache is on only while the listener is: when the connection is lost, caching stops and everything
/// cached is dropped until listening starts again (changes in between went unheard).
public struct MediaChangeListener: Sendable {
    public static let channel = "media_changed"
    let client: PostgresClient
    let cache: MediaReadCache
    let logger: Logger

    public init(client: PostgresClient, cache: MediaReadCache, logger: Logger) {
        self.client = client
        self.cache = cache
        self.logger = logger
    }

    /// Listens until cancelled, reconnecting with backoff.
    public func run() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            var problem = "the notifications ended"
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        cache.enable()
                        logger.info("read cache on: listening for media changes")
                        backoff.reset()
                        for try await notification in notifications {
                            apply(notification.payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                problem = DatabaseFailure.describe(error)
            }
            cache.disable()
            let delay = backoff.next()
            logger.warning("read cache off: media change notifications lost; reading from the database", metadata: [
                "error": "\(problem)", "retry_in": "\(delay)",
            ])
            try? await Task.sleep(for: delay)
        }
        cache.disable()
    }

    func apply(_ payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count == 2, let mediaId = Int64(parts[0]), let userId = Int64(parts[1]) else {
            logger.warning("unreadable media change notification; dropping the whole read cache", metadata: ["payload": "\(payload)"])
            cache.invalidateAll()
            return
        }
        cache.invalidate(mediaId: mediaId, userId: userId)
    }
}
