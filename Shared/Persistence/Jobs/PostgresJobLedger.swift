import Foundation
import Logging
import PostgresNIO

/// `JobLedger` on the `processing_jobs` table (migration 15): one row per job (queue and event id), kept after it ends
/// (pruned after 14 days by the Janitor's `outbox_watch`).
public struct PostgresJobLedger: JobLedger {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func begin(queue: String, eventId: UUID, mediaId: Int64, generation: Int, worker: String) async throws -> Int {
        // A row still `running` when its job starts again is a start whose process died: counted.
        let rows = try await client.guardedRows(
            """
            INSERT INTO processing_jobs (queue, event_id, media_id, generation, worker, started_at, heartbeat_at, running)
            VALUES (\(queue), \(eventId), \(mediaId), \(generation), \(worker), now(), now(), true)
            ON CONFLICT (queue, event_id) DO UPDATE SET
                crashed_starts = processing_jobs.crashed_starts + CASE WHEN processing_jobs.running THEN 1 ELSE 0 END,
                running = true, worker = EXCLUDED.worker, started_at = now(), heartbeat_at = now()
            RETURNING crashed_starts
            """, logger: logger)
        return try rows.first?.decode(Int.self) ?? 0
    }

    public func beat(queue: String, eventId: UUID) async throws {
        _ = try await client.guardedRows(
            "UPDATE processing_jobs SET heartbeat_at = now() WHERE queue = \(queue) AND event_id = \(eventId) AND running",
            logger: logger)
    }

    public func finish(queue: String, eventId: UUID) async throws {
        _ = try await client.guardedRows(
            """
            UPDATE processing_jobs SET running = false, heartbeat_at = now()
            WHERE queue = \(queue) AND event_id = \(eventId)
            """, logger: logger)
    }
}
