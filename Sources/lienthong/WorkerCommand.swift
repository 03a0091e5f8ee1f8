import ArgumentParser
import Dispatch
import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongWorker
import Logging

/// `lienthong worker`: consumes dossier events and applies them to PostgreSQL, optionally relaying the outbox.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Consume dossier events, apply them to PostgreSQL in one transaction per batch, relay the outbox.",
        discussion: """
            Run one per consumer-group member; members share the partitions of --topic. Positions live in \
            PostgreSQL (consumer_position), so a restarted worker resumes exactly where its last committed batch \
            ended. SIGTERM or SIGINT stops fetching, finishes the batch in progress, commits and exits 0.
            """
    )

    @Option(help: "Kafka bootstrap servers (default: $LIENTHONG_KAFKA_BROKERS).")
    var brokers: String?

    @Option(
        name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG* variables).")
    var databaseURL: String?

    @Option(help: "The inbound topic.")
    var topic = "dossier.events"

    @Option(help: "The consumer group shared by the fleet.")
    var group = "lienthong-workers"

    @Option(help: "The topic status events go to.")
    var statusTopic = "dossier.status"

    @Option(help: "The dead-letter topic.")
    var deadLetterTopic = "dossier.events.dlq"

    @Option(help: "This worker's name in dead-letter records (default: the host name).")
    var workerID: String?

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property, name=value (repeatable).")
    var kafkaProperties: [String] = []

    @Flag(help: "Also publish the outbox from this process.")
    var relay = false

    func run() async throws {
        var logger = Logger(label: "lienthong.worker")
        logger.logLevel = .info
        let environment = ProcessInfo.processInfo.environment
        guard let brokers = brokers ?? environment["LIENTHONG_KAFKA_BROKERS"], !brokers.isEmpty else {
            throw ValidationError("missing Kafka brokers: pass --brokers or set LIENTHONG_KAFKA_BROKERS")
        }
        var properties: [String: String] = [:]
        for property in kafkaProperties {
            let parts = property.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ValidationError("--kafka-property expects name=value, got \(property)")
            }
            properties[String(parts[0])] = String(parts[1])
        }
        let database = PostgresConfiguration(connectionString: databaseURL ?? environment["DATABASE_URL"] ?? "")
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: group)
        consumerConfiguration.properties = properties
        var writer = DossierBatchWriter(consumerGroup: group)
        writer.statusTopic = statusTopic
        writer.deadLetterTopic = deadLetterTopic
        writer.workerID = workerID ?? ProcessInfo.processInfo.hostName

        let worker = try DossierEventWorker(
            consumerConfiguration: consumerConfiguration, topic: topic,
            connection: try await PostgresConnection.connect(configuration: database, logger: logger),
            positionsConnection: try await PostgresConnection.connect(configuration: database, logger: logger),
            writer: writer, logger: logger)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: brokers)
        producerConfiguration.properties = properties.filter {
            !$0.key.hasPrefix("group.") && $0.key != "session.timeout.ms"
        }
        let producer = relay ? try KafkaProducer(configuration: producerConfiguration, logger: logger) : nil
        let listener =
            relay
            ? try PostgresNotificationListener(configuration: database, channels: ["lienthong_outbox"], logger: logger)
            : nil
        var relayTask: Task<Void, Never>?
        if let producer, let listener {
            let outboxRelay = OutboxRelay(
                connection: try await PostgresConnection.connect(configuration: database, logger: logger),
                producer: producer,
                logger: logger)
            relayTask = Task { try? await outboxRelay.run(listener: listener) }
        }

        logger.info("worker started", metadata: ["kafka.topic": "\(topic)", "kafka.group": "\(group)"])
        let running = Task { await worker.run() }
        await Self.waitForTerminationSignal()
        logger.info("worker stopping")
        await worker.close()
        await running.value
        relayTask?.cancel()
        await listener?.stop()
        await producer?.close()
        logger.info("worker stopped")
    }

    /// Waits for SIGTERM or SIGINT (their default actions replaced, so the process stops gracefully).
    private static func waitForTerminationSignal() async {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number) { _ in }
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        for await _ in signals { break }
        sources.forEach { $0.cancel() }
    }
}
