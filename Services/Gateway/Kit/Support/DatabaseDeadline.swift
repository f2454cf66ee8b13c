import MediaDomain
import Persistence

/// The repository the HTTP routes use: every call of `base`, given up after `deadline` with `DatabaseUnavailable`.
///
/// Why: while PostgreSQL is down, PostgresNIO's pool keeps each query waiting for a connection until it can make
/// one, for up to a minute (its circuit breaker), and then fails it with a `ConnectionPoolError`. Without this, a
/// request during an outage hung for that minute and then answered 500 `internal_error` (seen in
/// FaultToleranceEndToEndTests). Here a call still running at the deadline is cancelled: waiting for a connection
/// stops at once, while a query already sent is not cancellable and finishes, so a call that completes anyway
/// answers with its real outcome (an upload's row is never committed behind a 503). The outbox relay and the status
/// consumer use the repository directly: for them waiting for the database is right. The price is a task group per
/// call (about 10 µs in a micro-benchmark on the 2-core machine).
package struct DeadlineMediaRepository: MediaRepository {
    package let base: any MediaRepository
    package let deadline: Duration

    package init(base: any MediaRepository, deadline: Duration) {
        self.base = base
        self.deadline = deadline
    }

    package func create(_ new: NewMedia) async throws -> CreateMediaResult { try await bounded { try await base.create(new) } }
    package func find(id: Int64) async throws -> Media? { try await bounded { try await base.find(id: id) } }
    package func find(userId: Int64, idempotencyKey: String) async throws -> Media? {
        try await bounded { try await base.find(userId: userId, idempotencyKey: idempotencyKey) }
    }
    package func isFolderInUse(_ folderName: String) async throws -> Bool {
        try await bounded { try await base.isFolderInUse(folderName) }
    }
    package func find(storagePrefix prefix: String) async throws -> Media? {
        try await bounded { try await base.find(storagePrefix: prefix) }
    }
    package func list(_ query: MediaQuery) async throws -> (count: Int, items: [Media]) {
        try await bounded { try await base.list(query) }
    }
    package func stats(userId: Int64) async throws -> MediaStats { try await bounded { try await base.stats(userId: userId) } }
    package func setPublic(id: Int64, userId: Int64, isPublic: Bool) async throws -> Media? {
        try await bounded { try await base.setPublic(id: id, userId: userId, isPublic: isPublic) }
    }
    package func delete(id: Int64, userId: Int64) async throws -> Media? {
        try await bounded { try await base.delete(id: id, userId: userId) }
    }
    package func reprocess(id: Int64, userId: Int64) async throws -> ReprocessResult {
        try await bounded { try await base.reprocess(id: id, userId: userId) }
    }
    package func apply(_ outcome: MediaOutcome, consumer: String) async throws -> FoldResult {
        try await bounded { try await base.apply(outcome, consumer: consumer) }
    }

    /// (`APIErrorMiddleware` logs the failure and answers 503.)
    private func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDatabaseDeadline(deadline, body)
    }
}

/// `PerceptualHashStore` with the routes' deadline, as `DeadlineMediaRepository`.
package struct DeadlinePerceptualHashStore: PerceptualHashStore {
    package let base: any PerceptualHashStore
    package let deadline: Duration

    package init(base: any PerceptualHashStore, deadline: Duration) {
        self.base = base
        self.deadline = deadline
    }

    package func perceptualHashChanges(userId: Int64, after sequence: Int64, limit: Int) async throws -> [PerceptualHashChange] {
        try await withDatabaseDeadline(deadline) { try await base.perceptualHashChanges(userId: userId, after: sequence, limit: limit) }
    }
    package func media(ids: [Int64], userId: Int64) async throws -> [Media] {
        try await withDatabaseDeadline(deadline) { try await base.media(ids: ids, userId: userId) }
    }
    package func existingIds(_ ids: [Int64], userId: Int64) async throws -> Set<Int64> {
        try await withDatabaseDeadline(deadline) { try await base.existingIds(ids, userId: userId) }
    }
}

/// Runs `body`, cancelling it if it has not finished after `deadline`. Its own outcome is the answer, except that
/// failing after the deadline is `DatabaseUnavailable`.
package func withDatabaseDeadline<T: Sendable>(
    _ deadline: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(for: deadline)  // cancelled (and so cut short) once `body` has finished
            return nil
        }
        var expired = false
        do {
            while let next = try await group.next() {
                if let value = next {
                    group.cancelAll()
                    return value
                }
                expired = true
                group.cancelAll()
            }
        } catch {
            // A COMMIT with an unknown outcome stays what it is, late or not: the caller must keep what it points at.
            if DatabaseFailure.mayHaveCommitted(error) { throw error }
            if expired { throw DatabaseUnavailable(description: "no answer within \(deadline)") }
            throw error  // the pool's circuit breaker and the like: `DatabaseFailure` tells outages from bugs
        }
        throw DatabaseUnavailable(description: "no answer within \(deadline)")
    }
}
