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
            WITH previous AS (SELECT tat FROM upload_rate WHERE user_id = \(userId)),
            taken AS (
                INSERT INTO upload_rate AS r (user_id, tat)
                VALUES (\(userId), clock_timestamp() + \(interval) * interval '1 microsecond')
                ON CONFLICT (user_id) DO UPDATE
                SET tat = GREATEST(r.tat, clock_timestamp()) + \(interval) * interval '1 microsecond'
                WHERE GREATEST(r.tat, clock_timestamp()) + \(interval) * interval '1 microsecond'
                      <= clock_timestamp() + \(tolerance) * interval '1 microsecond'
                RETURNING tat, clock_timestamp() AS at)
            SELECT (SELECT (extract(epoch FROM tat - at) * 1000000)::int8 FROM taken),
                   (SELECT (extract(epoch FROM tat - clock_timestamp()) * 1000000)::int8 FROM previous)
            """, logger: logger)
        guard let row = rows.first else { throw PersistenceError.corruptRow("the rate statement returned no row") }
        let (taken, previous) = try row.decode((Int64?, Int64?).self)
        return RateDecision.gcra(takenMicros: taken, previousMicros: previous, rate: rate, burst: burst)
    }
}
