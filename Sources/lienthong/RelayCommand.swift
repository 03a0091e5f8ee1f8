import ArgumentParser
import LienThongKafka
import LienThongPostgres
import LienThongWorker
import Logging

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

    func run() async throws {
        let stopRequested = Task { await waitForTerminationSignal() }
        var logger = Logger(label: "lienthong.relay")
        logger.logLevel = .info
        let relay = try await Self.startRelay(connection: connection, logger: logger)
        logger.info("relay started")
        await stopRequested.value
        await relay.stop()
        logger.info("relay stopped")
    }

    /// A running relay and what it holds.
    struct RunningRelay {
        let task: Task<Void, Never>
        let listener: PostgresNotificationListener
        let producer: KafkaProducer

        /// Stops publishing, then flushes and closes the producer.
        func stop() async {
            task.cancel()
            await task.value
            await listener.stop()
            await producer.close()
        }
    }

    /// Starts a relay with its own producer, listener and connection.
    static func startRelay(connection options: ConnectionOptions, logger: Logger) async throws -> RunningRelay {
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: try options.bootstrapServers())
        producerConfiguration.properties = try options.producerProperties()
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let listener = try PostgresNotificationListener(
            configuration: options.database, channels: ["lienthong_outbox"], logger: logger)
        let relay = OutboxRelay(
            connection: try await PostgresConnection.connect(configuration: options.database, logger: logger),
            producer: producer, logger: logger)
        let task = Task { _ = try? await relay.run(listener: listener) }
        return RunningRelay(task: task, listener: listener, producer: producer)
    }
}
