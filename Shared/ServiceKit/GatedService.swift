import ServiceLifecycle

/// Runs a service (or a closure) once a `StartupGate` opens.
public struct GatedService: Service {
    let gate: StartupGate
    let name: String
    let body: @Sendable () async throws -> Void

    public init(gate: StartupGate, name: String, service: some Service) {
        self.gate = gate
        self.name = name
        body = { try await service.run() }
    }

    public init(gate: StartupGate, name: String, body: @escaping @Sendable () async throws -> Void) {
        self.gate = gate
        self.name = name
        self.body = body
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await gate.wait()
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
