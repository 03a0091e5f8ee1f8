import ArgumentParser
import LienThongHTTP
import LienThongKafka
import LienThongPostgres
import LienThongSettings
import LienThongWorker
import Logging
import ServiceLifecycle

/// `lienthong relay`: publishes the outbox; run any number, they share the shards.
struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Publish outbox rows to Kafka with an idempotent producer, in order per dossier.",
        discussion: """
            Wakes on PostgreSQL notifications (LISTEN lienthong_outbox) and every 5 s without one. Rows are marked \
            published only after the broker confirmed them. Several relays share the outbox by shard under \
            advisory locks: one dossier's records are never published by two relays at once. SIGTERM or SIGINT \
            finishes the round in progress, flushes the producer and exits 0.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Port of /livez, /readyz and /metrics, 0: none (key http.port; default 8080).")
    var httpPort: Int?

    func run() async throws {
        let stopRequested = Task { await waitForTerminationSignal() }
        guard
            let (settings, registry, logger) = try await Observability.start(
                connection, flags: ["http.port": httpPort.map(String.init)], label: "lienthong.relay")
        else { return stopRequested.cancel() }
        let relay = try await Self.startRelay(settings, logger: logger)
        let probeConnection = try await PostgresConnection.connect(configuration: settings.database, logger: logger)
        let health = HealthMonitor(heartbeatLimit: settings.heartbeatLimit) {
            await Observability.answers(probeConnection)
                ? HealthMonitor.Readiness(isReady: true)
                : HealthMonitor.Readiness(isReady: false, reasons: ["PostgreSQL unreachable"])
        }
        health.watch("producer") { relay.producer.timeSinceLastPoll }
        var services: [any Service] = []
        if let http = Observability.httpService(
            settings, registry: registry, health: health, database: probeConnection, readModel: nil, logger: logger)
        {
            services.append(http)
        }
        services.append(
            LongRunning.cancelledOnShutdown("gauges") {
                await OperationalGauges().run(every: .seconds(15), on: probeConnection, logger: logger)
            })
        services.append(relay.service)
        logger.info("relay started")
        try await Observability.run(
            services, until: stopRequested, health: health, budget: settings.shutdownBudget, logger: logger)
    }

    /// A running relay and what it holds.
    struct RunningRelay {
        let task: Task<Void, Never>
        let listener: PostgresNotificationListener
        let producer: KafkaProducer

        /// A service that publishes until a graceful stop, then stops publishing and flushes.
        var service: any Service {
            LongRunning("relay") {
                try? await gracefulShutdown()
                await stop()
            }
        }

        /// Stops publishing, then flushes and closes the producer.
        func stop() async {
            task.cancel()
            await task.value
            await listener.stop()
            await producer.close()
        }
    }

    /// Starts `worker.relay_connections` relays, each with its own connection, sharing one producer and listener
    /// (and `cache`, the rows a worker of this process wrote), while the producer looks up the outbound topics.
    static func startRelay(
        _ settings: ResolvedSettings, cache: OutboxRecordCache? = nil, logger: Logger
    ) async throws -> RunningRelay {
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: try settings.requiredBrokers())
        producerConfiguration.properties = settings.producerProperties
        let producer = try KafkaProducer(
            configuration: producerConfiguration,
            eventHandler: { event in
                guard case .error(let error) = event else { return }
                WorkerMetrics.shared.recordKafkaError(client: "producer", error, logger: logger)
            },
            logger: logger)
        let listener = try PostgresNotificationListener(
            configuration: settings.database, channels: ["lienthong_outbox"], logger: logger)
        var relays: [OutboxRelay] = []
        for _ in 0..<settings.relayConnections {
            relays.append(
                OutboxRelay(
                    connection: try await PostgresConnection.connect(configuration: settings.database, logger: logger),
                    producer: producer, batchSize: settings.relayRoundRecords, cache: cache, logger: logger))
        }
        let topics = settings.topics.all
        let task = Task { [relays] in
            let lookup = Task { await OutboxRelay.lookUpTopics(topics, producer: producer, logger: logger) }
            defer { lookup.cancel() }
            _ = try? await OutboxRelay.run(relays, listener: listener)
        }
        return RunningRelay(task: task, listener: listener, producer: producer)
    }
}
