import PostgresNIO
import _ConnectionPoolModule

/// What a PostgreSQL error means to a caller, whichever way it was delivered.
///
/// Transactions wrap their errors in `TransactionFailure`, so a caller that matches `PSQLError` misses exactly the
/// failures of the writes that matter most (an upload's row and outbox entry). Callers ask here instead, so that a
/// database going away is told apart from a bug in a statement.
public enum DatabaseFailure {
    /// The error underneath a transaction's wrapper.
    public static func underlying(_ error: any Error) -> any Error {
        (error as? TransactionFailure)?.underlying ?? error
    }

    /// The SQLSTATE the server answered with, if the server answered at all.
    public static func sqlState(_ error: any Error) -> String? {
        (underlying(error) as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// True when a transaction's `COMMIT` was sent but got no definite answer: the connection was lost, or the
    /// server ended the session (a FATAL, as when it shuts down), possibly after the commit was durable. Whatever
    /// the transaction's rows point at (an upload's original) must then not be thrown away. A plain ERROR answer (a
    /// deferred constraint, a serialization failure) means a rollback, and a `COMMIT` never sent commits nothing.
    public static func mayHaveCommitted(_ error: any Error) -> Bool {
        guard let failure = error as? TransactionFailure, failure.stage == .commit else { return false }
        switch failure.underlying {
        case is DatabaseUnavailable:
            return false  // refused before it was sent
        case let psql as PSQLError where psql.code == .server && psql.serverInfo?[.severity] == "ERROR":
            return false
        case let psql as PSQLError where psql.code == .clientClosedConnection:
            // postgres-nio refuses a statement on a connection it is already closing: the COMMIT was never sent.
            return false
        default:
            return true
        }
    }

    /// A log line's worth of the error. `PSQLError`'s own description is a fixed placeholder (it hides details
    /// from accidental display to users), and its debug description carries the whole query; this gives the
    /// code, SQLSTATE, server message and the underlying network error, and no bound values.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as TransactionFailure:
            var text = "transaction failed at \(failure.stage.rawValue): \(describe(failure.underlying))"
            if let rollback = failure.rollbackError { text += "; rollback failed: \(describe(rollback))" }
            return text
        case let psql as PSQLError:
            var text = "PostgreSQL \(psql.code)"
            if let info = psql.serverInfo {
                text += " \(info[.sqlState] ?? "?"): \(info[.message] ?? "")"
            }
            if let cause = psql.underlying { text += " (\(describe(cause)))" }
            return text
        case let pool as ConnectionPoolError:
            switch pool {
            case .requestCancelled: return "database connection request cancelled"
            case .poolShutdown: return "database connection pool shut down"
            default: return "no database connection could be made (the pool stopped trying for now)"
            }
        case let decoding as PostgresDecodingError:
            // Column and types only: the cell's bytes may be user data.
            return "PostgreSQL decoding \(decoding.code) of column \(decoding.columnName) "
                + "(\(decoding.postgresType) as \(decoding.targetType))"
        default:
            return String(reflecting: error)  // as the error middleware logged unexpected errors before
        }
    }

    /// True when the database cannot serve right now but may shortly: the connection was lost or refused, the pool
    /// is closing, or the server is shutting down, out of resources, or asked the client to retry. Worth a 503 and a
    /// retry; anything else (a constraint, a syntax error, a decoding failure) is a bug worth a 500.
    public static func isUnavailable(_ error: any Error) -> Bool {
        let error = underlying(error)
        // A cancelled lease is the caller giving up (a client gone), not the database.
        if let pool = error as? ConnectionPoolError { return pool != .requestCancelled }
        if error is DatabaseUnavailable { return true }
        guard let psql = error as? PSQLError else { return false }
        switch psql.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            guard let state = psql.serverInfo?[.sqlState] else { return false }
            return isTransient(sqlState: state)
        default:
            return false
        }
    }

    /// SQLSTATEs of a server that is going away or overloaded, or of a transaction it asks to be retried:
    /// class 08 (connection exception), 53 (insufficient resources), 57P01–57P03 (shut down, crashed, cannot connect
    /// now), 40001 (serialization failure) and 40P01 (deadlock).
    public static func isTransient(sqlState state: String) -> Bool {
        state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P")
            || state == "40001" || state == "40P01"
    }
}
