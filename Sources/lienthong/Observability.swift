import LienThongHTTP
import LienThongPostgres
import LienThongSettings
import LienThongWorker
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization

import func Foundation.exit

/// The process-wide logging and metrics backends, bootstrapped once by a long-running command.
enum Observability {
    /// This build's version, reported by `lienthong_build_info`.
    static let version = "0.5.0"

    /// Bootstraps swift-log (JSON lines or text on stdout) and swift-metrics (Prometheus); returns the registry
    /// `/metrics` renders.
    static func bootstrap(_ settings: ResolvedSettings) -> PrometheusCollectorRegistry {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let json = settings.logFormat == "json"
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60),
        ]
        factory.valueHistogramBuckets[WorkerMetrics.Name.batchSize] = [1, 10, 50, 100, 250, 500, 1000, 2000, 5000]
        MetricsSystem.bootstrap(factory)
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "lienthong", metricName: "build", unitName: "info",
                helpText: "Always 1; the labels name the build."),
            labels: [("version", version), ("librdkafka", "2.0.2")]
        ).set(Int64(1))
        return registry
    }

    /// Resolves the settings of a long-running command; with `--print-config`, prints them and returns nil.
    /// Otherwise bootstraps logging and metrics and returns the settings, the registry and a logger for `label`.
    static func start(
        _ connection: ConnectionOptions, flags: [String: String?], label: String
    ) async throws -> (settings: ResolvedSettings, registry: PrometheusCollectorRegistry, logger: Logger)? {
        let settings = try await connection.settings(flags)
        if connection.printConfig {
            print(settings.printable())
            return nil
        }
        let registry = bootstrap(settings)
        let logger = logger(label, settings)
        if settings.allowsInsecure && settings.profile == .production {
            logger.warning("production profile running with security.allow_insecure")
        }
        return (settings, registry, logger)
    }

    /// A logger for `label` at the configured level.
    static func logger(_ label: String, _ settings: ResolvedSettings) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        return logger
    }

    /// The HTTP surface as a service when `http.port` is not 0. A port it cannot listen on stops the process
    /// (gracefully, then exit 1) with an error naming `http.port`: probes that never answer would only get it
    /// restarted later, for a reason no log names. A server that fails after it listened stops the process the
    /// same way, with an error that says so instead of blaming the setting.
    static func httpService(
        _ settings: ResolvedSettings, registry: PrometheusCollectorRegistry, health: HealthMonitor,
        database: PostgresConnection, readModel: DossierReadModel?, logger: Logger
    ) -> (any Service)? {
        guard settings.httpPort > 0 else { return nil }
        let listening = Atomic(false)
        let application = OperationsServer.build(
            host: settings.httpHost, port: settings.httpPort, health: health, registry: registry,
            database: database, readModel: readModel, logger: logger,
            onServerRunning: { port in
                listening.store(true, ordering: .releasing)
                logger.info("http listening", metadata: ["http.port": "\(port)"])
            })
        let address = "\(settings.httpHost):\(settings.httpPort)"
        return LongRunning("http") {
            do {
                try await application.run()
            } catch  where listening.load(ordering: .acquiring) {
                throw HTTPServerFailure(address: address, underlying: error)
            } catch {
                throw SettingsError(key: "http.port", reason: "cannot serve HTTP on \(address): \(error)")
            }
        }
    }

    /// Runs `services` in one `ServiceGroup`, shut down in reverse order (the consumer first, HTTP last, so
    /// `/metrics` answers through the drain) when `stopRequested` finishes (SIGTERM/SIGINT, caught from the start
    /// of the process). Readiness turns false at once; past `budget`, the process exits 1.
    static func run(
        _ services: [any Service], until stopRequested: Task<Void, Never>, health: HealthMonitor, budget: Duration,
        logger: Logger
    ) async throws {
        // A service that fails (the HTTP port taken) stops the others gracefully, and the process exits 1.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map {
                    ServiceGroupConfiguration.ServiceConfiguration(
                        service: $0, failureTerminationBehavior: .gracefullyShutdownGroup)
                },
                logger: logger))
        let watchdog = Mutex<Task<Void, any Error>?>(nil)
        let stopping = Task {
            await stopRequested.value
            guard !Task.isCancelled else { return }
            health.beginStopping()
            logger.info("stopping")
            watchdog.withLock {
                $0 = Task.detached {
                    try await Task.sleep(for: budget)
                    logger.error("graceful stop exceeded its budget; exiting")
                    exit(1)
                }
            }
            await group.triggerGracefulShutdown()
        }
        try await group.run()
        stopping.cancel()
        watchdog.withLock { $0 }?.cancel()
        logger.info("stopped")
    }

    /// Whether PostgreSQL answers within 2 s on `database` (a query stuck on a dead network is left to finish on
    /// its own).
    static func answers(_ database: PostgresConnection) async -> Bool {
        let answer = FirstAnswer()
        return await withCheckedContinuation { continuation in
            answer.install(continuation)
            Task { answer.give((try? await database.query("SELECT 1")) != nil) }
            Task {
                try? await Task.sleep(for: .seconds(2))
                answer.give(false)
            }
        }
    }
}

/// A service made of one operation; graceful shutdown cancels it unless it handles shutdown itself.
struct LongRunning: Service, CustomStringConvertible {
    let description: String
    private let operation: @Sendable () async throws -> Void

    init(_ name: String, _ operation: @escaping @Sendable () async throws -> Void) {
        self.description = name
        self.operation = operation
    }

    /// A service whose operation loops until cancelled: graceful shutdown cancels it.
    static func cancelledOnShutdown(_ name: String, _ operation: @escaping @Sendable () async -> Void) -> LongRunning {
        LongRunning(name) { await cancelWhenGracefulShutdown { await operation() } }
    }

    func run() async throws {
        try await operation()
    }
}

/// The HTTP server stopped with an error after it had started listening (not a setting's fault).
struct HTTPServerFailure: Error, CustomStringConvertible {
    let address: String
    let underlying: any Error

    var description: String { "the HTTP server on \(address) failed after it started listening: \(underlying)" }
}

/// Resumes a continuation with the first answer given; later answers are dropped.
private final class FirstAnswer: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)

    func install(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func give(_ answer: Bool) {
        continuation.withLock { $0.take() }?.resume(returning: answer)
    }
}
