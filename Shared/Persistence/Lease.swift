/// The one shape of a claim on a row (issue 27, the house). Outbox rows, webhook deliveries, dead letters being replayed
/// and tus uploads are held by whoever set their `claimed_until` into the future, and are free again once it has passed:
/// a holder that dies lets its claims lapse, and another (or itself, restarted) takes them over. A batch is claimed in
/// one statement, `UPDATE … WHERE id IN (SELECT … WHERE <free> … FOR UPDATE SKIP LOCKED)`, so two claimers never take
/// the same row and never wait on each other; the row locks last only while the statement runs, the lease after it.
enum Lease {
    /// The condition of a row nobody holds now.
    static let isFree = "(claimed_until IS NULL OR claimed_until < now())"

    /// The `claimed_until` of a claim made now for `lease`, to the millisecond (an SQL expression).
    static func until(_ lease: Duration) -> String {
        "now() + interval '\(lease.milliseconds) milliseconds'"
    }

    /// The assignment that lets a row go.
    static let released = "claimed_until = NULL"
}
