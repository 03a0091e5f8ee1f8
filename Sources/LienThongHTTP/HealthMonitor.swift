import Synchronization

/// What `/livez` and `/readyz` answer, from the poll threads' heartbeats and a readiness check.
///
/// Liveness only asks whether every registered poll loop went round within ``heartbeatLimit``: a loop keeps beating
/// while Kafka or PostgreSQL is down, and stops only when something blocks it (a handler that never returns), which
/// a restart cures. Readiness asks the process's own check (partitions assigned, PostgreSQL reachable) and turns
/// false the moment a graceful stop begins.
public final class HealthMonitor: Sendable {
    /// One readiness answer, with the reasons when not ready.
    public struct Readiness: Sendable, Hashable {
        public var isReady: Bool
        public var reasons: [String]

        public init(isReady: Bool, reasons: [String] = []) {
            self.isReady = isReady
            self.reasons = reasons
        }
    }

    /// How long a poll loop may go without a heartbeat. Default: 30 s.
    public let heartbeatLimit: Duration
    private let heartbeats: Mutex<[(name: String, age: @Sendable () -> Duration)]> = Mutex([])
    private let readinessCheck: @Sendable () async -> Readiness
    private let isStopping = Mutex(false)

    /// Creates the monitor.
    /// - Parameters:
    ///   - heartbeatLimit: the watchdog limit of every poll loop.
    ///   - readiness: the process's readiness check (run per `/readyz` request).
    public init(
        heartbeatLimit: Duration = .seconds(30),
        readiness: @escaping @Sendable () async -> Readiness = { Readiness(isReady: true) }
    ) {
        self.heartbeatLimit = heartbeatLimit
        self.readinessCheck = readiness
    }

    /// Registers a poll loop by name and a function returning the time since its last heartbeat.
    public func watch(_ name: String, age: @escaping @Sendable () -> Duration) {
        heartbeats.withLock { $0.append((name, age)) }
    }

    /// The poll loops past the limit, by name (empty: alive).
    public func stalledLoops() -> [String] {
        heartbeats.withLock { loops in loops.filter { $0.age() > heartbeatLimit }.map(\.name) }
    }

    /// Marks the start of a graceful stop: readiness is false from now on.
    public func beginStopping() {
        isStopping.withLock { $0 = true }
    }

    /// The readiness answer.
    public func readiness() async -> Readiness {
        if isStopping.withLock({ $0 }) { return Readiness(isReady: false, reasons: ["stopping"]) }
        return await readinessCheck()
    }
}
