import ArgumentParser
import Dispatch
import Foundation
import LienThongDomain
import LienThongHTTP
import LienThongKafka
import LienThongPostgres
import LienThongSettings
import LienThongWorker
import Logging
import ServiceLifecycle

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

    @Option(help: "The inbound topic (key kafka.topic; default dossier.events).")
    var topic: String?

    @Option(help: "The consumer group shared by the fleet (key kafka.group; default lienthong-workers).")
    var group: String?

    @Option(help: "Static membership id, stable per pod (key kafka.instance_id; default none).")
    var instanceID: String?

    @Option(help: "This worker's name in dead letters and logs (key worker.id; default the host name).")
    var workerID: String?

    @Option(help: "The reference-data directory (key worker.reference_data; default Schemas/reference-data).")
    var referenceData: String?

    @Option(help: "How a clock paused for a supplement resumes: restart or extend (key worker.resume_policy).")
    var resumePolicy: String?

    @Option(
        help: "Provinces resuming otherwise, e.g. 01=extend,79=restart (key worker.resume_policy_by_province).")
    var resumePolicyByProvince: String?

    @Option(help: "Seconds between deadline scans, 0: none (key worker.watch_interval_seconds; default 30).")
    var watchIntervalSeconds: Int?

    @Option(help: "Seconds an out-of-order event waits, then triage (key worker.gap_hold_seconds; default 600).")
    var gapHoldSeconds: Int?

    @Option(help: "Seconds for a graceful stop; past it, exit 1 (key worker.shutdown_budget_seconds; default 25).")
    var shutdownBudgetSeconds: Int?

    @Option(help: "Port of /livez, /readyz, /metrics and the status API, 0: none (key http.port; default 8080).")
    var httpPort: Int?

    @Flag(help: "Also publish the outbox from this process (key worker.relay).")
    var relay = false

    /// The flags given, by configuration key.
    private var flags: [String: String?] {
        outbound.flags.merging(
            [
                "kafka.topic": topic, "kafka.group": group, "kafka.instance_id": instanceID, "worker.id": workerID,
                "worker.reference_data": referenceData, "worker.resume_policy": resumePolicy,
                "worker.resume_policy_by_province": resumePolicyByProvince,
                "worker.watch_interval_seconds": watchIntervalSeconds.map(String.init),
                "worker.gap_hold_seconds": gapHoldSeconds.map(String.init),
                "worker.shutdown_budget_seconds": shutdownBudgetSeconds.map(String.init),
                "http.port": httpPort.map(String.init), "worker.relay": relay ? "true" : nil,
            ]
        ) { first, _ in first }
    }

    func run() async throws {
        // Catch SIGTERM/SIGINT from the start: a stop requested while starting up is still a graceful one.
        let stopRequested = Task { await waitForTerminationSignal() }
        guard
            let (settings, registry, logger) = try await Observability.start(
                connection, flags: flags, label: "lienthong.worker")
        else { return stopRequested.cancel() }
        let brokers = try settings.requiredBrokers()
        let tables = try loadReferenceData(settings.referenceData)
        let database = settings.database
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: settings.group)
        consumerConfiguration.groupInstanceID = settings.instanceID
        consumerConfiguration.maxBatchSize = settings.batchSize
        consumerConfiguration.maxBufferedMessages = settings.bufferedRecords
        consumerConfiguration.properties = settings.consumerProperties
        let name = settings.workerID ?? ProcessInfo.processInfo.hostName
        var writer = DossierBatchWriter(consumerGroup: settings.group, referenceData: tables)
        writer.topics = settings.topics
        writer.workerID = name
        writer.resumePolicy = SLAResumePolicy(rawValue: settings.resumePolicy)!
        writer.resumePolicyByProvince = try settings.resumePolicyByProvince.reduce(into: [:]) { policies, entry in
            policies[try ProvinceCode(entry.key)] = SLAResumePolicy(rawValue: entry.value)!
        }
        // A relay in this process publishes the rows this worker writes from memory instead of reading them back.
        let outboxCache = settings.relaysOutbox ? OutboxRecordCache() : nil
        writer.outboxCache = outboxCache
        var watcher = DeadlineWatcher(calendar: tables.calendar)
        watcher.topics = settings.topics
        watcher.workerID = name
        watcher.gapHoldTime = settings.gapHold

        let worker = try DossierEventWorker(
            consumerConfiguration: consumerConfiguration, topic: settings.topic,
            connections: try await writeConnections(settings.writeLanes, database, logger: logger),
            positionsConnection: try await PostgresConnection.connect(configuration: database, logger: logger),
            writer: writer, logger: logger)
        let relaying =
            settings.relaysOutbox
            ? try await RelayCommand.startRelay(settings, cache: outboxCache, logger: logger) : nil
        let probeConnection = try await PostgresConnection.connect(configuration: database, logger: logger)
        let health = HealthMonitor(heartbeatLimit: settings.heartbeatLimit) { [worker] in
            var reasons: [String] = []
            if !worker.hasAssignment { reasons.append("no partitions assigned") }
            if await !Observability.answers(probeConnection) { reasons.append("PostgreSQL unreachable") }
            return HealthMonitor.Readiness(isReady: reasons.isEmpty, reasons: reasons)
        }
        health.watch("consumer") { worker.timeSinceLastPoll }
        if let relaying { health.watch("producer") { relaying.producer.timeSinceLastPoll } }

        // In dependency order; a graceful stop runs it backwards: the consumer drains and commits first, the
        // relay publishes and flushes after it, and HTTP answers until the end.
        var services: [any Service] = []
        if let http = Observability.httpService(
            settings, registry: registry, health: health, database: probeConnection,
            readModel: DossierReadModel(catalogue: tables.router.catalogue), logger: logger)
        {
            services.append(http)
        }
        services.append(
            LongRunning.cancelledOnShutdown("gauges") {
                await OperationalGauges().run(every: .seconds(15), on: probeConnection, logger: logger)
            })
        if let relaying { services.append(relaying.service) }
        if settings.watchInterval > .zero {
            let watcherConnection = try await PostgresConnection.connect(configuration: database, logger: logger)
            let (interval, watcher) = (settings.watchInterval, watcher)
            services.append(
                LongRunning.cancelledOnShutdown("deadline-watcher") {
                    await watcher.run(every: interval, on: watcherConnection, logger: logger)
                })
        }
        let budget = settings.shutdownBudget
        services.append(
            LongRunning("worker") {
                await withGracefulShutdownHandler {
                    await worker.run()
                } onGracefulShutdown: {
                    Task { await worker.close(timeout: budget) }
                }
            })
        logger.info(
            "worker started", metadata: ["kafka.topic": "\(settings.topic)", "kafka.group": "\(settings.group)"])
        try await Observability.run(services, until: stopRequested, health: health, budget: budget, logger: logger)
    }
}

/// One connection per write lane of the worker.
private func writeConnections(
    _ lanes: Int, _ database: PostgresConfiguration, logger: Logger
) async throws -> [PostgresConnection] {
    var connections: [PostgresConnection] = []
    for _ in 0..<lanes {
        connections.append(try await PostgresConnection.connect(configuration: database, logger: logger))
    }
    return connections
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
