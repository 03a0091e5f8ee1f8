import ArgumentParser
import Dispatch
import Foundation
import LienThongDomain
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
            ended. While PostgreSQL is unreachable the worker pauses the affected partitions and retries with \
            backoff. It also watches deadlines (SLA warnings, held events past --gap-hold-seconds); the fleet \
            shares that work under an advisory lock. SIGTERM or SIGINT stops fetching, finishes the batch in \
            progress, commits, flushes and exits 0.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var outbound: TopicOptions

    @Option(help: "The inbound topic.")
    var topic = "dossier.events"

    @Option(help: "The consumer group shared by the fleet.")
    var group = "lienthong-workers"

    @Option(help: "This worker's name in dead-letter records (default: the host name).")
    var workerID: String?

    @Option(help: "The reference-data directory (units, agencies, catalogue, calendar).")
    var referenceData = "Schemas/reference-data"

    @Option(help: "How a clock paused for a supplement resumes: restart or extend.")
    var resumePolicy = "restart"

    @Option(help: "Seconds between deadline scans (0: this worker does not scan).")
    var watchIntervalSeconds = 30

    @Option(help: "Seconds an event may wait for the versions before it, then it goes to triage.")
    var gapHoldSeconds = 600

    @Option(help: "Seconds allowed for a graceful stop (drain, commit, flush); past it the process exits 1.")
    var shutdownBudgetSeconds = 25

    @Flag(help: "Also publish the outbox from this process.")
    var relay = false

    func run() async throws {
        // Catch SIGTERM/SIGINT from the start: a stop requested while starting up is still a graceful one.
        let stopRequested = Task { await waitForTerminationSignal() }
        var logger = Logger(label: "lienthong.worker")
        logger.logLevel = .info
        let brokers = try connection.bootstrapServers()
        let properties = try connection.properties()
        guard let policy = SLAResumePolicy(rawValue: resumePolicy) else {
            throw ValidationError("--resume-policy must be restart or extend, got \(resumePolicy)")
        }
        let tables = try loadReferenceData(referenceData)
        let database = connection.database
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: group)
        consumerConfiguration.properties = properties
        let name = workerID ?? ProcessInfo.processInfo.hostName
        var writer = DossierBatchWriter(consumerGroup: group, referenceData: tables)
        writer.topics = outbound.topics
        writer.workerID = name
        writer.resumePolicy = policy
        var watcher = DeadlineWatcher(calendar: tables.calendar)
        watcher.topics = outbound.topics
        watcher.workerID = name
        watcher.gapHoldTime = .seconds(gapHoldSeconds)

        let worker = try DossierEventWorker(
            consumerConfiguration: consumerConfiguration, topic: topic,
            connection: try await PostgresConnection.connect(configuration: database, logger: logger),
            positionsConnection: try await PostgresConnection.connect(configuration: database, logger: logger),
            writer: writer, logger: logger)
        let watchInterval = Duration.seconds(watchIntervalSeconds)
        var watching: Task<Void, Never>?
        if watchIntervalSeconds > 0 {
            let watcherConnection = try await PostgresConnection.connect(configuration: database, logger: logger)
            watching = Task { await watcher.run(every: watchInterval, on: watcherConnection, logger: logger) }
        }
        let relaying = relay ? try await RelayCommand.startRelay(connection: connection, logger: logger) : nil

        logger.info("worker started", metadata: ["kafka.topic": "\(topic)", "kafka.group": "\(group)"])
        let running = Task { await worker.run() }
        await stopRequested.value
        logger.info("worker stopping")
        let budget = Duration.seconds(shutdownBudgetSeconds)
        let watchdog = Task.detached {
            try await Task.sleep(for: budget)
            logger.error("graceful stop exceeded its budget; exiting")
            Foundation.exit(1)
        }
        await worker.close(timeout: budget)
        await running.value
        watching?.cancel()
        await relaying?.stop()
        watchdog.cancel()
        logger.info("worker stopped")
    }
}

/// Waits for SIGTERM or SIGINT (their default actions replaced, so the process stops gracefully).
func waitForTerminationSignal() async {
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
