import ServiceLifecycle

/// Runs a service (or a closure) once a `StartupGate` opens. A shutdown while it waits ends the wait. Once running, a
/// service handles a graceful shutdown its own way (a worker drains, a relay sends its last batch); a closure is
/// cancelled.
public struct GatedService: Service {
    let gate: StartupGate
    let name: String
    let body: @Sendable () async throws -> Void
    let cancelOnShutdown: Bool

    public init(gate: StartupGate, name: String, service: some Service) {
        self.gate = gate
        self.name = name
        body = { try await service.run() }
        cancelOnShutdown = false
    }

    public init(gate: StartupGate, name: String, body: @escaping @Sendable () async throws -> Void) {
        self.gate = gate
        self.name = name
        self.body = body
        cancelOnShutdown = true
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await gate.wait() }
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        if cancelOnShutdown {
            try await cancelWhenGracefulShutdown { try await body() }
        } else {
            try await body()
        }
    }
}

/// A service made of a closure (start-up work such as migrations, then whatever it should keep doing).
public struct ClosureService: Service {
    let body: @Sendable () async throws -> Void
    public init(body: @escaping @Sendable () async throws -> Void) { self.body = body }
    public func run() async throws { try await body() }
}
