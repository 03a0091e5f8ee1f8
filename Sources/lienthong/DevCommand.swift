import ArgumentParser
import Foundation
import LienThongDomain
import LienThongKafka
import LienThongPostgres
import LienThongSimulation
import LienThongTestSupport
import LienThongWorker
import Logging
import Synchronization

/// `lienthong dev`: the whole system on one machine, with a simulated Hanoi sending dossiers.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run LienThong locally: embedded broker, PostgreSQL, a worker fleet and a simulated Hanoi.",
        discussion: """
            Starts the embedded Kafka broker (librdkafka's mock cluster, 3 brokers on loopback), a throwaway \
            PostgreSQL cluster (or uses --database-url / $DATABASE_URL), applies the migrations, starts --workers \
            `lienthong worker --relay` processes in one consumer group, and a simulator of Hanoi's upstream \
            systems: 126 commune and ward points and 30 service-centre branches filing dossiers (about 96 % \
            online, office-hour peaks, a Monday-morning surge), units processing them, supplements, withdrawals, \
            re-sent and malformed events, and a national-portal stand-in acknowledging portal.sync records. \
            Simulated time runs --speed times faster than real time, from Monday 07:00. A progress line shows \
            events/s, consumer lag, dossiers in flight, on-time share, DLQ and triage counts. Ctrl-C, or \
            --duration-seconds, stops the simulation, lets the fleet drain and prints a summary per level.
            """
    )

    @OptionGroup var simulation: SimulationOptions

    @Option(help: "Worker processes in the fleet.")
    var workers = 2

    @Option(help: "A PostgreSQL conninfo or URI to use instead of a throwaway cluster (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The reference-data directory.")
    var referenceData = "Schemas/reference-data"

    @Option(help: "The migrations directory.")
    var migrations = "Schemas/migrations"

    @Option(help: "Worker i serves /metrics, probes and the status API on this port + i (0: no HTTP).")
    var httpPort = 8080

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
    }

    func run() async throws {
        var logger = Logger(label: "lienthong.dev")
        logger.logLevel = .error
        let tables = try loadReferenceData(referenceData)
        print("lienthong dev: starting PostgreSQL, the embedded broker and \(workers) worker(s) …")
        let database = try await DevDatabase.open(url: databaseURL, logger: logger)
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(connectionString: database.url), logger: logger)
        _ = try await PostgresMigrator.load(directory: migrations).migrate(on: connection, logger: logger)
        let cluster = try EmbeddedKafkaCluster(brokers: 3, logger: logger)
        let topics = OutboundTopics()
        try cluster.createTopic("dossier.events", partitions: 12)
        for topic in topics.all { try cluster.createTopic(topic, partitions: 6) }

        let logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "lienthong-dev-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        let fleet = try (0..<workers).map { index in
            try startWorker(
                index: index, brokers: cluster.bootstrapServers, databaseURL: database.url, logs: logDirectory)
        }
        if httpPort > 0 {
            print(
                """
                metrics:    \((0..<workers).map { "http://127.0.0.1:\(httpPort + $0)/metrics" }.joined(separator: " "))
                status API: http://127.0.0.1:\(httpPort)/v1/dossiers/{code}  http://127.0.0.1:\(httpPort)/v1/stats?period=day
                probes:     http://127.0.0.1:\(httpPort)/livez  /readyz
                """)
        }

        let driver = try simulation.driver(tables: tables, brokers: cluster.bootstrapServers, logger: logger)
        let start = driver.simulatedStart
        let simulating = Task { try await driver.run() }
        let watcherConnection = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(connectionString: database.url), logger: logger)
        let watcher = DeadlineWatcher(calendar: tables.calendar)
        let watching = Task {
            await watcher.run(every: .seconds(1), on: watcherConnection, logger: logger, now: { driver.now })
        }
        let progress = try ProgressLine(
            connection: connection, group: "lienthong-workers", bootstrapServers: cluster.bootstrapServers,
            driver: driver, logger: logger)
        print("simulated Hanoi from \(Self.describe(start)) at \(Int(simulation.speed))× real time; Ctrl-C stops\n")

        var stopped: Set<Int> = []
        await runUntilStopped(durationSeconds: simulation.durationSeconds) { _ in
            await progress.show()
            // A worker that stops early (its HTTP port taken, PostgreSQL gone) is said at once, with why.
            for (index, worker) in fleet.enumerated() where !worker.isRunning && stopped.insert(index).inserted {
                let log = logDirectory.appendingPathComponent("worker-\(index).log")
                print("\n" + Self.stoppedWorkerNotice(index: index, status: worker.terminationStatus, log: log))
            }
        }
        simulating.cancel()
        _ = try? await simulating.value
        await driver.close()
        // The deadline watcher stops with the simulated clock: a warning queued after the drain would be left
        // unpublished when the fleet stops.
        watching.cancel()
        await watching.value
        print("\nsimulation stopped; letting the fleet drain …")
        let drainDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < drainDeadline, !(await progress.isDrained()) {
            try? await Task.sleep(for: .milliseconds(500))
            await progress.show()
        }
        for worker in fleet { worker.terminate() }
        for worker in fleet { worker.waitUntilExit() }
        let summary = try await FleetStatistics.summary(
            catalogue: tables.router.catalogue, statusTopic: topics.status, at: driver.now, on: connection)
        let totals = try await FleetStatistics.progress(consumerGroup: "lienthong-workers", on: connection)
        print("\n")
        print(
            Self.summaryTable(summary, totals: totals, sent: driver.sentCount, dossiers: driver.dossiersCreated)
                + "\n"
                    + """
                    simulated \(Self.describe(start)) → \(Self.describe(driver.now)) (\(Int(simulation.speed))× real time)
                    worker logs: \(logDirectory.path)/worker-*.log (exit status \(fleet.map(\.terminationStatus)))
                    while it ran: \(Self.endpointsLine(workers: workers, httpPort: httpPort, stopped: stopped))
                    check it:    lienthong reconcile (against your own brokers and database after `lienthong worker`)
                    """)
        await progress.close()
        await connection.close()
        await watcherConnection.close()
        cluster.close()
        try? await database.close(logger: logger)
    }

    /// Starts one `lienthong worker --relay` (this executable) with its output in a log file.
    private func startWorker(index: Int, brokers: String, databaseURL: String, logs: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [
            "worker", "--brokers", brokers, "--database-url", databaseURL, "--relay", "--worker-id", "dev-\(index)",
            "--reference-data", referenceData, "--watch-interval-seconds", "0",
            "--http-port", String(httpPort > 0 ? httpPort + index : 0),
            "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
        ]
        let log = logs.appendingPathComponent("worker-\(index).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Where the fleet's HTTP surfaces were while it ran: every worker's metrics, and the status API of the first
    /// worker that ran to the end (a worker that stopped early served nothing).
    static func endpointsLine(workers: Int, httpPort: Int, stopped: Set<Int>) -> String {
        guard httpPort > 0 else { return "no HTTP surfaces (--http-port 0)" }
        let serving = (0..<workers).filter { !stopped.contains($0) }
        guard let first = serving.first else { return "no worker served HTTP to the end" }
        let metrics = serving.map { "http://127.0.0.1:\(httpPort + $0)/metrics" }.joined(separator: " ")
        return "metrics at \(metrics), the status API at http://127.0.0.1:\(httpPort + first)/v1/dossiers/{code} "
            + "and /v1/stats (Deploy/openapi.yaml)"
    }

    /// Which worker stopped, its exit status and the last lines of its log.
    static func stoppedWorkerNotice(index: Int, status: Int32, log: URL) -> String {
        let lines = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(3)
        return "worker \(index) stopped early (exit status \(status)); \(log.path) ends with:\n"
            + lines.map { "  " + $0 }.joined(separator: "\n")
    }

    /// 07:00 on the first Monday on or after `now`'s date (Hanoi time), a working Monday when the calendar says so.
    static func mondayMorning(after now: Date, calendar: WorkingCalendar) -> Date {
        var day = calendar.localDate(of: now)
        while day.weekday != 1 || !calendar.isWorkingDay(day) { day = day.adding(days: 1) }
        return Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86_400 - 7 * 3600 + 7 * 3600))
    }

    static func describe(_ instant: Date) -> String {
        let local = Int(instant.timeIntervalSince1970) + 7 * 3600
        let day = CivilDate(daysSinceEpoch: local / 86_400)
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let minutes = local % 86_400 / 60
        return "\(names[day.weekday - 1]) \(day) " + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    static func summaryTable(
        _ levels: [FleetStatistics.LevelSummary], totals: FleetStatistics.Progress, sent: Int, dossiers: Int
    ) -> String {
        func column(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        var lines = [
            "level            received  resolved  on time  overdue  p50 ms  p99 ms",
            "---------------  --------  --------  -------  -------  ------  ------",
        ]
        for level in levels {
            lines.append(
                level.level.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
                    + column("\(level.received)", 10) + column("\(level.resolved)", 10)
                    + column(String(format: "%.1f%%", level.onTimePercent), 9) + column("\(level.overdue)", 9)
                    + column(String(format: "%.0f", level.latencyP50), 8)
                    + column(String(format: "%.0f", level.latencyP99), 8))
        }
        lines.append(
            """

            dossiers filed \(dossiers), records sent \(sent), events recorded \(totals.eventsRecorded), \
            dead-lettered \(totals.deadLettered), in triage \(totals.triageOpen), outbox backlog \(totals.outboxBacklog)
            """)
        return lines.joined(separator: "\n")
    }
}

/// The database a dev run uses: a throwaway cluster's fresh database, or the one named.
private struct DevDatabase {
    let url: String
    let throwaway: TestDatabase?

    static func open(url: String?, logger: Logger) async throws -> DevDatabase {
        if let url = url ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return DevDatabase(url: url, throwaway: nil)
        }
        let database = try await TestPostgresCluster.shared().createDatabase(logger: logger)
        return DevDatabase(url: database.url, throwaway: database)
    }

    func close(logger: Logger) async throws {
        try await throwaway?.drop(logger: logger)
    }
}

/// The live progress line: rewritten in place on a terminal, a line every 5 s otherwise.
private final class ProgressLine: Sendable {
    private let connection: PostgresConnection
    private let group: String
    private let monitor: KafkaConsumer
    private let driver: SimulationDriver
    private let isTerminal = isatty(1) == 1
    private let previous = Mutex<(count: Int, at: ContinuousClock.Instant, printed: ContinuousClock.Instant)?>(nil)

    init(
        connection: PostgresConnection, group: String, bootstrapServers: String, driver: SimulationDriver,
        logger: Logger
    ) throws {
        self.connection = connection
        self.group = group
        self.driver = driver
        monitor = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: bootstrapServers, groupID: "lienthong-dev-monitor"),
            logger: logger)
    }

    private func snapshot() async -> (FleetStatistics.Progress, Int64)? {
        guard let progress = try? await FleetStatistics.progress(consumerGroup: group, on: connection),
            let ends = try? await monitor.endOffsets(of: "dossier.events")
        else { return nil }
        return (progress, max(0, ends.values.reduce(0, +) - progress.storedPositions))
    }

    /// Whether the workers have consumed and published everything sent.
    func isDrained() async -> Bool {
        guard let (progress, lag) = await snapshot() else { return false }
        return lag == 0 && progress.outboxBacklog == 0
    }

    func show() async {
        guard let (progress, lag) = await snapshot() else { return }
        let now = ContinuousClock.now
        let (rate, shouldPrint) = previous.withLock { last -> (Double, Bool) in
            defer {
                let printed = last.map { now - $0.printed >= .seconds(5) || isTerminal ? now : $0.printed } ?? now
                last = (progress.eventsRecorded, now, printed)
            }
            guard let last else { return (0, true) }
            let elapsed = now - last.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return (
                Double(progress.eventsRecorded - last.count) / max(seconds, 0.001),
                isTerminal || now - last.printed >= .seconds(5)
            )
        }
        guard shouldPrint else { return }
        let line =
            "\(DevCommand.describe(driver.now)) | \(Int(rate)) events/s | lag \(lag) | in flight \(progress.inFlight)"
            + " | on time " + String(format: "%.2f%%", progress.onTimePercent) + " | DLQ \(progress.deadLettered)"
            + " | triage \(progress.triageOpen) | outbox \(progress.outboxBacklog)"
        if isTerminal {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            Swift.print(line)
        }
    }

    func close() async {
        _ = await monitor.close(timeout: .seconds(5))
    }
}
