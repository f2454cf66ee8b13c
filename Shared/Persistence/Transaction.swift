import Logging
import PostgresNIO

/// A leased connection whose every statement is first checked against a session the server already ended: the
/// connection of a transaction, or of one read (`guardedRows`).
///
/// postgres-nio (1.33) hands a query to its channel without a write promise. On a channel that is already closed
/// the write is dropped and the query's promise is never completed, so the caller waits forever. A transaction
/// holds its connection between statements, which is exactly when a PostgreSQL restart or `pg_terminate_backend`
/// lands. Without the check an upload could wait forever and keep its stored file, which fits the one run of the
/// PostgreSQL outage fault test that found a request unanswered after 60 s and a stray original. A close while a
/// statement is in flight is reported by postgres-nio itself. What is left is a close that lands in the
/// microseconds between this check and the write reaching the event loop.
public struct GuardedConnection: Sendable {
    let connection: PostgresConnection

    /// Whether the session has ended (the server closed it, or the client did).
    public var isClosed: Bool { connection.isClosed }

    @discardableResult
    public func query(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> PostgresRowSequence {
        guard !connection.isClosed else { throw DatabaseUnavailable(description: "the connection was closed before the statement was sent") }
        return try await connection.query(query, logger: logger, file: file, line: line)
    }
}

/// The database could not be asked: a connection found closed before a statement was sent (so it did not run), or
/// a caller's deadline passed while waiting for one. Always an outage (503 `database_unavailable` in the Gateway).
public struct DatabaseUnavailable: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// A transaction that failed, with the stage it failed at: only a failed `COMMIT` can leave the outcome unknown.
public struct TransactionFailure: Error, CustomStringConvertible {
    public enum Stage: String, Sendable { case begin, body, commit }
    public let stage: Stage
    public let underlying: any Error
    /// Set when the `ROLLBACK` after a failed body failed too (the connection is usually gone then).
    public let rollbackError: (any Error)?

    public var description: String { DatabaseFailure.describe(self) }
}

extension PostgresClient {
    /// One statement outside a transaction, with the same guard as a transaction's statements. Its rows are read
    /// while the connection is leased: the pool can lend a connection whose close it has not yet seen.
    public func guardedRows(
        _ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await GuardedConnection(connection: connection)
                .query(query, logger: logger, file: file, line: line).collect()
        }
    }

    /// Runs `body` in a transaction on one leased connection: `BEGIN`, then `COMMIT` if it returns or `ROLLBACK` if
    /// it throws. Errors come wrapped in `TransactionFailure`; `DatabaseFailure` reads through it.
    public func transaction<Result>(
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (GuardedConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection(isolation: isolation) { connection in
            let transaction = GuardedConnection(connection: connection)
            do {
                try await transaction.query("BEGIN", logger: logger)
            } catch {
                throw TransactionFailure(stage: .begin, underlying: error, rollbackError: nil)
            }
            let value: Result
            do {
                value = try await body(transaction)
            } catch {
                var rollbackError: (any Error)?
                do {
                    try await transaction.query("ROLLBACK", logger: logger)
                } catch let failure {
                    rollbackError = failure
                    // Still open but possibly still inside the transaction: never hand that to the pool's next user.
                    if !connection.isClosed {
                        do {
                            try await connection.close()
                        } catch let closeError {
                            logger.warning("connection left mid-transaction could not be closed", metadata: [
                                "error": "\(DatabaseFailure.describe(closeError))",
                            ])
                        }
                    }
                }
                throw TransactionFailure(stage: .body, underlying: error, rollbackError: rollbackError)
            }
            do {
                try await transaction.query("COMMIT", logger: logger)
            } catch {
                throw TransactionFailure(stage: .commit, underlying: error, rollbackError: nil)
            }
            return value
        }
    }
}
