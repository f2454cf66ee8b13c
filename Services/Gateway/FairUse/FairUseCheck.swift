import GatewayKit
import Logging
import Persistence

/// One fair-use question to PostgreSQL (a rate, a quota, a stream count), bounded by `deadline`. A database that
/// cannot answer is 503 `unavailable` (SPEC §10: never "allowed because we could not check", never a 500); any other
/// error passes through.
package func fairUseCheck<T: Sendable>(
    _ what: String, refusing action: String, deadline: Duration, logger: Logger,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    do {
        return try await withDatabaseDeadline(deadline, body)
    } catch where DatabaseFailure.isUnavailable(error) {
        logger.error("\(action) refused: \(what) could not be checked", metadata: ["error": "\(DatabaseFailure.describe(error))"])
        throw APIError.serviceUnavailable(
            "unavailable", "\(action.prefix(1).uppercased() + action.dropFirst()) cannot be checked against \(what) right now (the database is unavailable); try again shortly.")
    }
}
