import Foundation
import Logging
import PostgresNIO

/// `UploadRateStore` on `upload_rate` (migration 18). One statement: the upsert moves the user's theoretical arrival
/// time on by one interval only when that stays within the burst, under the row's lock, so Gateways share the budget
/// exactly; a refusal changes nothing.
public struct PostgresUploadRateStore: UploadRateStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func take(userId: Int64, rate: UploadRate, burst: Int) async throws -> RateDecision {
        let interval = rate.intervalMicros
        let tolerance = interval * Int64(burst)
        // clock_timestamp(), not now(): now() is when the transaction began, and an upsert that waited for the row's
        // lock behind another Gateway's would judge a later arrival time against an earlier clock (seen as two
        // answers with the same RateLimit-Remaining).
        let rows = try await client.guardedRows(
            """
            WITH taken AS (
                INSERT INTO upload_rate AS r (user_id, tat)
                VALUES (\(userId), clock_timestamp() + \(interval) * interval '1 microsecond')
                ON CONFLICT (user_id) DO UPDATE
                SET tat = GREATEST(r.tat, clock_timestamp()) + \(interval) * interval '1 microsecond'
                WHERE GREATEST(r.tat, clock_timestamp()) + \(interval) * interval '1 microsecond'
                      <= clock_timestamp() + \(tolerance) * interval '1 microsecond'
                RETURNING tat, clock_timestamp() AS at)
            SELECT (extract(epoch FROM tat - at) * 1000000)::int8 FROM taken
            """, logger: logger)
        if let row = rows.first {
            return RateDecision.gcra(takenMicros: try row.decode(Int64.self), previousMicros: nil, rate: rate, burst: burst)
        }
        // Refused: the arrival time as it stands now, read by a statement of its own. (Read in the statement above, it
        // would be the snapshot from before the row lock: an upload that waited behind others' would tell too early a
        // Retry-After and RateLimit-Reset.)
        let current = try await client.guardedRows(
            """
            SELECT (extract(epoch FROM tat - clock_timestamp()) * 1000000)::int8 FROM upload_rate WHERE user_id = \(userId)
            """, logger: logger)
        let previous = try current.first?.decode(Int64.self)
        return RateDecision.gcra(takenMicros: nil, previousMicros: previous, rate: rate, burst: burst)
    }
}
