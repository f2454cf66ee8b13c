import Synchronization

/// One load per key at a time: callers that ask for a key while its load runs wait for that load's result instead of
/// starting their own, if `joinable` says the running load still answers them (it began late enough). A miss under
/// load (32 connections asking for a list page whose entry just expired) then costs one database read, not 32.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Flight {
        let sequence: UInt64
        let task: Task<Value, any Error>
    }

    private let flights = Mutex<[Key: Flight]>([:])

    /// `load(sequence)`'s result for `key`: the running load's when `joinable(itsSequence)`, else a new one's.
    func value(
        for key: Key, sequence: UInt64, joinable: @escaping @Sendable (UInt64) -> Bool,
        load: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let task = flights.withLock { flights -> Task<Value, any Error> in
            if let flight = flights[key], joinable(flight.sequence) { return flight.task }
            let task = Task { try await load() }
            flights[key] = Flight(sequence: sequence, task: task)
            return task
        }
        defer {
            flights.withLock { flights in
                if let flight = flights[key], flight.task == task { flights[key] = nil }
            }
        }
        return try await task.value
    }
}
