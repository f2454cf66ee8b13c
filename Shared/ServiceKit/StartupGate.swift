import Messaging

/// Holds back services that need the schema (or the topology) until start-up work finished.
/// `ServiceGroup` starts every service at once; the outbox relay and the consumers wait here until the
/// migrations ran, instead of failing against missing tables. Waiting ends early when the waiting task is cancelled
/// (a shutdown before start-up finished).
public final class StartupGate: Sendable {
    private let opened = DrainSignal()

    public init() {}

    public func open() { opened.fire() }

    public func wait() async { await opened.wait() }
}
