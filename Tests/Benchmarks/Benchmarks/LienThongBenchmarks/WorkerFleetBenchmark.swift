import Benchmark
import Foundation
import LienThongDomain
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// End to end: `lienthong worker --relay` processes (1 or 2, one consumer group), or a worker and a separate
// `lienthong relay`, against the embedded broker hosted here and the throwaway PostgreSQL (fsync on, synchronous
// commits). 200,000 events over 35,000 dossiers at Hanoi's 126 commune points wait in the inbound topic; the clock
// runs from the first batch's transaction start to the last event applied with every outbox row published. CPU and peak memory
// are read from /proc for the fleet's processes alone, the relay process included (the workers' deadline watcher
// is off: the events' 2025 dates would make every open dossier overdue at once, a one-off flood of warnings rather
// than the steady state), and PostgreSQL's CPU from /proc for the backends serving the fleet when the server runs
// on this machine (it shares the cores); latency is per status event, from the moment the worker's consumer
// handed its inbound event out (consume; it then waits in the consumer's buffer behind the transactions before it)
// to the relay's mark after the broker confirmed it (published). Three iterations per fleet, each on a
// fresh database and broker: the spread between runs on a shared 2-core VM is large, so the table's p50 is the
// median run.

private let eventsPerSecond = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)
private let cpuPerEvent = BenchmarkMetric.custom(
    "worker CPU µs/event", polarity: .prefersSmaller, useScalingFactor: false)
private let latencyP50 = BenchmarkMetric.custom(
    "p50 ms consume→published", polarity: .prefersSmaller, useScalingFactor: false)
private let latencyP99 = BenchmarkMetric.custom(
    "p99 ms consume→published", polarity: .prefersSmaller, useScalingFactor: false)
private let workerPeakMemory = BenchmarkMetric.custom(
    "worker peak RSS MB (largest)", polarity: .prefersSmaller, useScalingFactor: false)
private let postgresCPUPerEvent = BenchmarkMetric.custom(
    "PostgreSQL backends CPU µs/event", polarity: .prefersSmaller, useScalingFactor: false)

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The release `lienthong` built by `make bench` (or `LIENTHONG_BIN`).
private let lienThongBinary =
    ProcessInfo.processInfo.environment["LIENTHONG_BIN"]
    ?? repository.appendingPathComponent(".build/release/lienthong").path

private let inboundPartitions: Int32 = 24  // 200k × ~420 B over 24 partitions: ~3.5 MiB each, under the 5 MiB cap

/// A fleet measured: its worker processes, their write lanes (nil: the default) and whether a separate
/// `lienthong relay` process publishes the outbox instead of the workers' own relays.
private struct Fleet {
    var workers: Int
    var writeLanes: Int? = nil
    var separateRelay = false

    /// The benchmark's name for it, e.g. `2 worker(s) with relay, 1 write lane(s) each`.
    var benchmarkName: String {
        "\(workers) worker(s) " + (separateRelay ? "and a relay process" : "with relay") + lanes
    }

    /// How its report lines name it, e.g. `fleet of 2, 1 write lane(s) each`.
    var reportName: String {
        "fleet of \(workers)" + (separateRelay ? " and a relay process" : "") + lanes
    }

    private var lanes: String {
        writeLanes.map { ", \($0) write lane(s) each" } ?? ""
    }
}

/// The fleets measured: 1 and 2 workers with the default write lanes (2), 2 workers with 1 lane each, the
/// setting the README recommends when the fleet shares its cores with PostgreSQL (two workers already make two
/// concurrent transactions), and 1 worker whose outbox a separate `lienthong relay` process publishes (reading
/// every row back from the table), which splits the CPU between consuming and publishing.
private let fleets = [
    Fleet(workers: 1), Fleet(workers: 2), Fleet(workers: 2, writeLanes: 1), Fleet(workers: 1, separateRelay: true),
]

func workerFleetBenchmarks() {
    for fleet in fleets {
        Benchmark(
            "Worker fleet end to end: 200k events over 35k dossiers, \(fleet.benchmarkName)",
            configuration: .init(
                metrics: [eventsPerSecond, cpuPerEvent, postgresCPUPerEvent, latencyP50, latencyP99, workerPeakMemory],
                timeUnits: .seconds,
                warmupIterations: 0, maxDuration: .seconds(1200), maxIterations: 3)
        ) { benchmark in
            try await runFleet(fleet, benchmark: benchmark)
        }
    }
}

/// Runs the fleet's processes to the end of the inbound topic.
private func runFleet(_ fleet: Fleet, benchmark: Benchmark) async throws {
    let fleetName = fleet.reportName
    let referenceData = try ReferenceData.load(
        directory: repository.appendingPathComponent("Schemas/reference-data").path)
    let database = try await TestPostgresCluster.shared().createDatabase(logger: logger)
    let connection = try await database.connect(logger: logger)
    try await PostgresMigrator.load(directory: repository.appendingPathComponent("Schemas/migrations").path)
        .migrate(on: connection, logger: logger)
    let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
    try cluster.createTopic("dossier.events", partitions: inboundPartitions)
    for topic in OutboundTopics().all { try cluster.createTopic(topic, partitions: 16) }
    let events = fleetEvents(referenceData: referenceData)
    let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
    for chunk in stride(from: 0, to: events.count, by: 20_000) {
        for result in await producer.send(Array(events[chunk..<min(chunk + 20_000, events.count)])) {
            _ = try result.get()
        }
    }
    await producer.close()

    // Worker output goes to files (JSON lines), so a run that stalls can be read afterwards.
    let logs = FileManager.default.temporaryDirectory.appendingPathComponent(
        "lienthong-bench-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    func launch(_ arguments: [String], log name: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: lienThongBinary)
        // The benchmark tool preloads its malloc-counting interposer; the workers run without it, as in production.
        var environment = ProcessInfo.processInfo.environment.filter { $0.key != "LD_PRELOAD" }
        if let writeLanes = fleet.writeLanes { environment["LIENTHONG_WORKER_WRITE_LANES"] = String(writeLanes) }
        process.environment = environment
        process.arguments = arguments
        let log = logs.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }
    let processes = try (0..<fleet.workers).map { index in
        try launch(
            [
                "worker", "--brokers", cluster.bootstrapServers, "--database-url", database.url,
                "--worker-id", "bench-\(index)", "--watch-interval-seconds", "0", "--reference-data",
                repository.appendingPathComponent("Schemas/reference-data").path,
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
                "--http-port", String(18_080 + index),
            ] + (fleet.separateRelay ? [] : ["--relay"]), log: "worker-\(index)")
    }
    let relayProcess =
        fleet.separateRelay
        ? try launch(
            ["relay", "--brokers", cluster.bootstrapServers, "--database-url", database.url, "--http-port", "18090"],
            log: "relay") : nil
    // However the run ends, no fleet process outlives it: one left behind keeps its HTTP port, and the next run's
    // worker cannot start.
    defer {
        for process in processes + (relayProcess.map { [$0] } ?? []) where process.isRunning { process.terminate() }
    }
    func count(_ sql: PostgresQuery) async throws -> Int {
        try await connection.query(sql)[0].decode(Int.self, at: 0)
    }
    // A process that exited (a worker that could not start: a port in use, a bad setting) fails the run, naming
    // the logs, instead of leaving the waits below polling for a position that never comes.
    func ensureFleetRunning() throws {
        for process in processes + (relayProcess.map { [$0] } ?? []) where !process.isRunning {
            throw FleetProcessExited(status: process.terminationStatus, logs: logs.path)
        }
    }
    // Cheap checks only (the stored positions, then the unpublished rows by their partial index): counting the
    // inbox every few milliseconds would compete with the workers for PostgreSQL.
    let positions: PostgresQuery = "SELECT coalesce(sum(next_offset), 0)::int8 FROM consumer_position"
    while try await count(positions) == 0 {
        try ensureFleetRunning()
        try await Task.sleep(for: .milliseconds(5))
    }
    let start = ContinuousClock.now
    let firstPositionSeen = Date()
    let usageAtStart = processes.map { ProcessUsage.read(pid: $0.processIdentifier) }
    let deadline = start + .seconds(600)
    var allApplied: Duration?
    while ContinuousClock.now < deadline {
        if allApplied == nil, try await count(positions) >= events.count { allApplied = ContinuousClock.now - start }
        if allApplied != nil, try await count("SELECT records FROM outbox_backlog") == 0 {
            break
        }
        try ensureFleetRunning()
        try await Task.sleep(for: .milliseconds(50))
    }
    let finished = ContinuousClock.now
    // The clock runs from the first batch's transaction, not from its commit (the first position seen): the inbox
    // rows carry their transaction's start, read from the server's clock and moved onto this machine's.
    let (firstTransaction, serverNow) = try await connection.query(
        "SELECT min(received_at), clock_timestamp() FROM inbox"
    )[0].decode((Date, Date).self)
    let firstTransactionHere = firstTransaction.addingTimeInterval(Date().timeIntervalSince(serverNow))
    let lead = Duration.seconds(max(0, firstPositionSeen.timeIntervalSince(firstTransactionHere)))
    let elapsed = lead + (finished - start)
    let throughput = rate(events.count, over: elapsed)
    // Which stage set the pace: the transactions (all applied) or the relay (all published).
    report(
        """
        \(fleetName): all applied after \(lead + (allApplied ?? .zero)), all published after \(elapsed) \
        (the first transaction began \(lead) before the first position was seen)
        """)
    if ContinuousClock.now >= deadline {
        report(
            "\(fleetName) DID NOT FINISH within 600 s; positions \(try await count(positions)) of \(events.count)"
        )
    }
    report("worker logs: \(logs.path)")
    report("\(fleetName): worker CPU before the clock started \(usageAtStart.map { $0.cpuMicroseconds / 1000 }) ms")
    // A member that joined late made the group rebalance mid-run, and the embedded broker completes such a
    // rebalance only after `session.timeout.ms` − 1 s, while the first member holds every partition: the figures
    // of that iteration include it.
    var revocations = 0
    for index in 0..<fleet.workers { revocations += await revocationCount(port: 18_080 + index) }
    let usage = processes.map { ProcessUsage.read(pid: $0.processIdentifier) }
    let relayUsage = relayProcess.map { ProcessUsage.read(pid: $0.processIdentifier) }
    // PostgreSQL's share: the CPU of the backends serving the fleet's connections (write lanes, relays, listeners),
    // which live as long as the processes; read from /proc, so only when the server runs on this machine. The
    // server's background processes (WAL writer, checkpointer, autovacuum) are not counted.
    let backends = try await connection.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).map { try $0.decode(Int32.self, at: 0) }
    let postgresMicroseconds = backends.reduce(0) { $0 + ProcessUsage.read(pid: $1).cpuMicroseconds }
    for process in processes + (relayProcess.map { [$0] } ?? []) {
        process.terminate()
        process.waitUntilExit()
    }
    let latencies = try await connection.query(
        """
        SELECT (extract(epoch FROM o.published_at - coalesce(i.consumed_at, i.received_at)) * 1000)::float8
        FROM outbox o JOIN dossier_history h ON o.event_id = 'status-' || h.dossier || '-' || h.version
        JOIN inbox i ON i.event_id = h.event_id
        WHERE o.topic = 'dossier.status' AND o.published_at IS NOT NULL
        """
    ).map { try $0.decode(Double.self, at: 0) }.sorted()
    benchmark.measurement(eventsPerSecond, throughput)
    // The fleet's CPU: the workers' and, when there is one, the relay process's.
    let cpuMicroseconds = usage.reduce(0) { $0 + $1.cpuMicroseconds } + (relayUsage?.cpuMicroseconds ?? 0)
    let librdkafkaMicroseconds =
        usage.reduce(0) { $0 + $1.librdkafkaThreadMicroseconds } + (relayUsage?.librdkafkaThreadMicroseconds ?? 0)
    benchmark.measurement(cpuPerEvent, cpuMicroseconds / events.count)
    if postgresMicroseconds > 0 { benchmark.measurement(postgresCPUPerEvent, postgresMicroseconds / events.count) }
    benchmark.measurement(latencyP50, Int(latencies[latencies.count / 2]))
    benchmark.measurement(latencyP99, Int(latencies[latencies.count * 99 / 100]))
    benchmark.measurement(workerPeakMemory, usage.map(\.peakResidentKilobytes).max()! / 1024)
    report(
        """
        \(fleetName): \(throughput) events/s, \
        worker CPU \(String(format: "%.1f", Double(cpuMicroseconds) / Double(events.count))) µs/event\
         (librdkafka's own threads \(String(format: "%.1f", Double(librdkafkaMicroseconds) / Double(events.count))))\
        \(relayUsage.map { " (relay process \($0.cpuMicroseconds / events.count), \($0.peakResidentKilobytes / 1024) MB)" } ?? ""), \
        PostgreSQL backends \(postgresMicroseconds > 0 ? "\(postgresMicroseconds / events.count) µs/event" : "not on this machine"), \
        latency p50 \(latencies[latencies.count / 2]) ms p99 \(latencies[latencies.count * 99 / 100]) ms, \
        peak RSS \(usage.map { $0.peakResidentKilobytes / 1024 }) MB, \
        outbox records \(try await count("SELECT coalesce(sum(record_count), 0)::int8 FROM outbox_batch")) \
        in \(try await count("SELECT count(*) FROM outbox_batch")) rows, revocations during the run \(revocations)
        """)
    await connection.close()
    cluster.close()
    try await database.drop(logger: logger)
}

/// How many times partitions were revoked from (or lost by) the worker whose `/metrics` is on `port`, from
/// `lienthong_rebalances_total`; 0 when it does not answer.
private func revocationCount(port: Int) async -> Int {
    guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
    else { return 0 }
    return String(decoding: data, as: UTF8.self).split(separator: "\n")
        .filter {
            $0.hasPrefix(#"lienthong_rebalances_total{kind="revoked"}"#)
                || $0.hasPrefix(#"lienthong_rebalances_total{kind="lost"}"#)
        }
        .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
        .reduce(0) { $0 + Int($1) }
}

/// A fleet process that exited during the run.
private struct FleetProcessExited: Error, CustomStringConvertible {
    var status: Int32
    var logs: String
    var description: String { "a fleet process exited with status \(status) during the run; its log is in \(logs)" }
}

/// CPU time and peak memory of a running process, from /proc.
private struct ProcessUsage {
    var cpuMicroseconds = 0
    /// The part of ``cpuMicroseconds`` spent on librdkafka's own threads (named `rdk:…`: brokers, main): building
    /// and sending produce requests, parsing fetch responses. Its calls on the process's other threads (enqueueing
    /// each record, serving delivery reports) are not in it.
    var librdkafkaThreadMicroseconds = 0
    var peakResidentKilobytes = 0

    static func read(pid: Int32) -> ProcessUsage {
        var usage = ProcessUsage()
        usage.cpuMicroseconds = cpu(statFile: "/proc/\(pid)/stat")?.microseconds ?? 0
        for thread in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
            if let (name, microseconds) = cpu(statFile: "/proc/\(pid)/task/\(thread)/stat"), name.hasPrefix("rdk:") {
                usage.librdkafkaThreadMicroseconds += microseconds
            }
        }
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        {
            usage.peakResidentKilobytes = Int(line.split(separator: " ")[1]) ?? 0
        }
        return usage
    }

    /// The name and the user plus system CPU time in a `/proc/…/stat` file.
    private static func cpu(statFile path: String) -> (name: Substring, microseconds: Int)? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let open = stat.firstIndex(of: "("),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return nil }
        // Fields after the name: state is field 3; utime and stime are fields 14 and 15 (clock ticks).
        let fields = stat[afterName.upperBound...].split(separator: " ")
        let ticks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        return (stat[stat.index(after: open)..<afterName.lowerBound], ticks * 1_000_000 / sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// 35,000 dossiers at Hanoi's commune points: submitted online, received, processing, (for 25,000) result
/// attached, resolved, returned: 200,000 events of ~420 bytes, keyed by dossier code. Procedures: 70 % commune, 20 % department
/// round trip, 10 % three-step liên thông.
private func fleetEvents(referenceData: ReferenceData) -> [KafkaProducerMessage] {
    let points = referenceData.router.agencies.agencies.values
        .filter { $0.type == "commune_people_committee" }.sorted { $0.id.rawValue < $1.id.rawValue }
    let procedures = [
        "1.001193", "1.001193", "1.001193", "1.001193", "1.001193", "1.001193", "1.001193",
        "2.001837", "2.001837", "1.001776",
    ]
    var messages: [KafkaProducerMessage] = []
    messages.reserveCapacity(200_000)
    for round in 0..<6 {
        for number in 0..<35_000 {
            let point = points[number % points.count]
            let code = "\(point.id.rawValue)-250702-" + String(1 + number / points.count).leftPadded(to: 4)
            let hasResult = number < 25_000
            let opening =
                #"{"procedure":"\#(procedures[number % 10])","commune":"\#(point.commune!.rawValue)","channel":"online","applicant":{"name":"Nguyễn Văn An"}}"#
            let steps: [(type: String, data: String)] =
                [
                    ("dossier.submitted", opening), ("dossier.received", opening),
                    ("dossier.status-changed", #"{"status":4}"#),
                ] + (hasResult ? [("dossier.result-attached", #"{"documentId":"KQ-\#(number)"}"#)] : []) + [
                    ("dossier.status-changed", #"{"status":9}"#), ("dossier.status-changed", #"{"status":10}"#),
                ]
            guard round < steps.count else { continue }
            let version = round + 1
            let json =
                #"{"specversion":"1.0","id":"\#(code)-v\#(version)","source":"/agencies/\#(point.id.rawValue)","type":"vn.gov.lienthong.\#(steps[round].type)","#
                + #""time":"2025-07-02T09:0\#(version):00+07:00","subject":"\#(code)","dossierversion":\#(version),"#
                + #""produceragency":"\#(point.id.rawValue)","correlationid":"c-\#(number)","data":\#(steps[round].data)}"#
            messages.append(KafkaProducerMessage(topic: "dossier.events", key: code, value: json))
        }
    }
    precondition(messages.count == 200_000, "the fleet workload is 200,000 events")
    return messages
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Appends to the file `LIENTHONG_BENCH_REPORT` names (`make bench` prints it at the end), else to standard
/// error: the benchmark tool keeps the benchmark process's own output for itself.
private func report(_ line: String) {
    let data = Data((line + "\n").utf8)
    guard let path = ProcessInfo.processInfo.environment["LIENTHONG_BENCH_REPORT"],
        FileManager.default.fileExists(atPath: path) || FileManager.default.createFile(atPath: path, contents: nil),
        let handle = FileHandle(forWritingAtPath: path)
    else {
        FileHandle.standardError.write(data)
        return
    }
    handle.seekToEndOfFile()
    handle.write(data)
    handle.closeFile()
}
