import Benchmark
import Foundation
import LienThongDomain
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging

// Throughput benchmarks of the foundation: the Kafka wrapper against the embedded broker and the PostgreSQL write
// path against the throwaway cluster (fsync on). Each reports its own rate as a custom metric; wall time includes
// no group join or server start.

private let messagesPerSecond = BenchmarkMetric.custom("messages/s", polarity: .prefersLarger, useScalingFactor: false)
private let rowsPerSecond = BenchmarkMetric.custom("rows/s", polarity: .prefersLarger, useScalingFactor: false)
let logger = Logger(label: "lienthong.bench")

/// ~300-byte values, like a dossier event.
private let value = Array(
    #"{"specversion":"1.0","id":"7f1c0b9e-2d4a-4c55-9f0e-3b8a1d2c4e5f","source":"000.00.12.H56","type":"vn.gov.dossier.received","time":"2025-07-01T08:15:00+07:00","subject":"000.00.12.H56-250701-0001","data":{"procedure":"1.001776","channel":"online","commune":"00004","version":1},"correlationid":"c-0001"}"#
        .utf8)

private let consumeTopicPartitions: Int32 = 24
private let consumeMessageCount = 240_000  // 10,000 per partition: 3 MB, under the mock's 5 MiB cap

private struct KafkaEnvironment: Sendable {
    let cluster: EmbeddedKafkaCluster
    let consumeTopic: String
}

private let kafkaEnvironment = Task { () throws -> KafkaEnvironment in
    let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
    let topic = "bench-consume"
    try cluster.createTopic(topic, partitions: consumeTopicPartitions)
    let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
    for chunk in stride(from: 0, to: consumeMessageCount, by: 20_000) {
        let results = await producer.send(
            (chunk..<(chunk + 20_000)).map {
                KafkaProducerMessage(
                    topic: topic, partition: Int32($0) % consumeTopicPartitions, key: nil, value: value)
            })
        for result in results { _ = try result.get() }
    }
    await producer.close()
    return KafkaEnvironment(cluster: cluster, consumeTopic: topic)
}

private let postgresDatabase = Task { () throws -> TestDatabase in
    let database = try await TestPostgresCluster.shared().createDatabase(logger: logger)
    let connection = try await database.connect(logger: logger)
    try await connection.run { session in
        try session.runScript(
            """
            CREATE TABLE dossier_state (code text PRIMARY KEY, status int4 NOT NULL, version int8 NOT NULL,
                                        holder text NOT NULL, updated_at timestamptz NOT NULL, event jsonb NOT NULL);
            CREATE TABLE dossier_history (dossier text NOT NULL, version int8 NOT NULL, status int4 NOT NULL,
                                          at timestamptz NOT NULL, event jsonb NOT NULL);
            """)
    }
    await connection.close()
    return database
}

func rate(_ count: Int, since start: ContinuousClock.Instant) -> Int {
    rate(count, over: ContinuousClock.now - start)
}

func rate(_ count: Int, over elapsed: Duration) -> Int {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Int(Double(count) / seconds)
}

private let nanosecondsPerEvent = BenchmarkMetric.custom("ns/event", polarity: .prefersSmaller, useScalingFactor: false)
private let nanosecondsPerElement = BenchmarkMetric.custom(
    "ns/element", polarity: .prefersSmaller, useScalingFactor: false)

/// A ~300-byte `dossier.received` event, the size the worker sees most.
private let receivedEvent = Array(
    #"{"specversion":"1.0","id":"3f1c2b9e-6d4a-4c55-9f0e-2b8a1d2c4e01","source":"/agencies/001.00.80.H26","type":"vn.gov.lienthong.dossier.received","time":"2025-07-02T08:15:00+07:00","subject":"001.00.80.H26-250702-0001","dossierversion":1,"produceragency":"001.00.80.H26","data":{"procedure":"1.001193","commune":"00004","channel":"counter","applicant":{"name":"Nguyễn Văn An","citizenId":"001203004567"}}}"#
        .utf8)

/// A hostile event at the size limit: an object of short distinct keys, the first of them repeated at the end.
private let manyKeysEvent: [UInt8] = {
    var text = #"{"k0":0"#
    var index = 1
    while text.utf8.count < 64 * 1024 - 24 {
        text += #","k\#(index)":0"#
        index += 1
    }
    return Array((text + #","k0":1}"#).utf8)
}()

/// The same event for Foundation's JSONDecoder, to measure the alternative.
private struct CodableEvent: Decodable {
    struct Applicant: Decodable {
        let name: String
        let citizenId: String?
    }
    struct Payload: Decodable {
        let procedure: String
        let commune: String
        let channel: String
        let applicant: Applicant
    }
    let specversion: String
    let id: String
    let source: String
    let type: String
    let time: String
    let subject: String
    let dossierversion: Int
    let produceragency: String
    let data: Payload
}

private func nanoseconds(perEvent count: Int, since start: ContinuousClock.Instant) -> Int {
    let elapsed = ContinuousClock.now - start
    return Int(
        (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(count))
}

/// Nanoseconds per element to fill fresh bindings `rounds` times with what `bind` appends.
private func bindingTime(rounds: Int, elements: Int, _ bind: (inout PostgresBindings) -> Void) -> Int {
    let start = ContinuousClock.now
    for _ in 0..<rounds {
        var bindings = PostgresBindings()
        bind(&bindings)
        blackHole(bindings)
    }
    return nanoseconds(perEvent: rounds * elements, since: start)
}

let benchmarks: @Sendable () -> Void = {
    let domainConfiguration = Benchmark.Configuration(
        metrics: [nanosecondsPerEvent], timeUnits: .microseconds, warmupIterations: 1, maxDuration: .seconds(10),
        maxIterations: 20)

    Benchmark(
        "Domain: decode + validate + apply one ~300-byte event (LienThong decoder)", configuration: domainConfiguration
    ) {
        benchmark in
        let decoder = InboundEventDecoder()
        let count = 20_000
        let start = ContinuousClock.now
        for _ in 0..<count {
            let event = try decoder.decode(receivedEvent).get()
            blackHole(try DossierStateMachine.apply(event.dossierEvent, to: nil).get())
        }
        benchmark.measurement(nanosecondsPerEvent, nanoseconds(perEvent: count, since: start))
    }

    Benchmark(
        "Domain: the same event through Foundation JSONDecoder only (no validation)", configuration: domainConfiguration
    ) {
        benchmark in
        let decoder = JSONDecoder()
        let data = Data(receivedEvent)
        let count = 20_000
        let start = ContinuousClock.now
        for _ in 0..<count { blackHole(try decoder.decode(CodableEvent.self, from: data)) }
        benchmark.measurement(nanosecondsPerEvent, nanoseconds(perEvent: count, since: start))
    }

    Benchmark(
        "Domain: refuse a hostile 64 KiB event of 6,663 distinct keys and one repeated last (LienThong decoder)",
        configuration: domainConfiguration
    ) {
        benchmark in
        let decoder = InboundEventDecoder()
        let count = 20
        let start = ContinuousClock.now
        for _ in 0..<count { blackHole(decoder.decode(manyKeysEvent)) }
        benchmark.measurement(nanosecondsPerEvent, nanoseconds(perEvent: count, since: start))
    }

    let parametersConfiguration = Benchmark.Configuration(
        metrics: [nanosecondsPerElement], timeUnits: .microseconds, warmupIterations: 1, maxDuration: .seconds(10),
        maxIterations: 20)

    Benchmark(
        "PostgreSQL parameters: bind the text, int8, timestamptz and bytea array columns of 3000 rows (no server)",
        configuration: parametersConfiguration
    ) {
        benchmark in
        let rows = 3000
        let codes = (0..<rows).map { "000.00.12.H56-250701-\(1000 + $0)" }
        let versions = (0..<rows).map { Int64($0) }
        let times = (0..<rows).map { Date(timeIntervalSince1970: 1_751_300_000 + Double($0)) }
        let payloads = [PostgresBytes](repeating: PostgresBytes(value), count: rows)
        let time = bindingTime(rounds: 50, elements: rows * 4) { bindings in
            bindings.append(codes)
            bindings.append(versions)
            bindings.append(times)
            bindings.append(payloads)
        }
        benchmark.measurement(nanosecondsPerElement, time)
    }

    Benchmark(
        "PostgreSQL parameters: bind the outbox arrays of a 3000-event batch, 7800 records of 8 columns (no server)",
        configuration: parametersConfiguration
    ) {
        benchmark in
        // The values the worker binds per batch, as prebuilt arrays (the worker writes them straight from its records,
        // through PostgresColumnArray): about 2.6 outbox records per event, each with a ~300-byte payload.
        let records = 7800
        let topics = (0..<records).map { ["dossier.status", "portal.sync", "work.commune"][$0 % 3] }
        let codes = (0..<records).map { "000.00.12.H56-250701-\(1000 + $0 / 3)" }
        let eventIDs = (0..<records).map { "000.00.12.H56-250701-\(1000 + $0 / 3)/\($0)/status" }
        let types = (0..<records).map { ["vn.gov.lienthong.status", "vn.gov.lienthong.portal.sync"][$0 % 2] }
        let payloads = [PostgresBytes](repeating: PostgresBytes(value), count: records)
        let correlationIDs = (0..<records).map { "c-\($0 / 3)" }
        let headers = [PostgresJSONB](repeating: PostgresJSONB("{}"), count: records)
        let time = bindingTime(rounds: 20, elements: records) { bindings in
            bindings.append(topics)
            bindings.append(codes)
            bindings.append(eventIDs)
            bindings.append(types)
            bindings.append(payloads)
            bindings.append(codes)
            bindings.append(correlationIDs)
            bindings.append(headers)
        }
        benchmark.measurement(nanosecondsPerElement, time)
    }

    Benchmark(
        "PostgreSQL parameters: bind the same four columns of 3000 rows straight from the rows (PostgresColumnArray, no server)",
        configuration: parametersConfiguration
    ) {
        benchmark in
        let rows = VersionedPayloads(count: 3000, payload: value)
        let time = bindingTime(rounds: 50, elements: 3000 * 4) { bindings in
            bindings.append(PostgresColumnArray(rows, .code, of: String.self))
            bindings.append(PostgresColumnArray(rows, .version, of: Int64.self))
            bindings.append(PostgresColumnArray(rows, .time, of: Date.self))
            bindings.append(PostgresColumnArray(rows, .payload, of: PostgresBytes.self))
        }
        benchmark.measurement(nanosecondsPerElement, time)
    }

    let kafkaConfiguration = Benchmark.Configuration(
        metrics: [messagesPerSecond, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 0,
        maxDuration: .seconds(120), maxIterations: 3)

    Benchmark(
        "Kafka consume: 240k x 300 B from the embedded broker, batches of 1000", configuration: kafkaConfiguration
    ) {
        benchmark in
        let environment = try await kafkaEnvironment.value
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: environment.cluster.bootstrapServers, groupID: "bench-\(UUID())")
        configuration.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [environment.consumeTopic])
        var iterator = consumer.batches.makeAsyncIterator()
        // The clock starts at the first batch: the embedded broker's first group join alone takes ~3 s.
        var received = (await iterator.next())?.count ?? 0
        let start = ContinuousClock.now
        let afterFirst = received
        while received < consumeMessageCount, let batch = await iterator.next() {
            received += batch.count
        }
        benchmark.measurement(messagesPerSecond, rate(received - afterFirst, since: start))
        await consumer.close()
    }

    Benchmark("Kafka produce with delivery confirmation: 100k x 300 B, idempotent", configuration: kafkaConfiguration) {
        benchmark in
        let environment = try await kafkaEnvironment.value
        let topic = "bench-produce-\(UUID())"
        try environment.cluster.createTopic(topic, partitions: consumeTopicPartitions)
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: environment.cluster.bootstrapServers), logger: logger)
        let messages = (0..<100_000).map {
            KafkaProducerMessage(topic: topic, key: Array("dossier-\($0 % 35_000)".utf8), value: value)
        }
        let start = ContinuousClock.now
        let results = await producer.send(messages)
        let confirmed = results.filter { (try? $0.get()) != nil }.count
        benchmark.measurement(messagesPerSecond, rate(confirmed, since: start))
        await producer.close()
    }

    workerFleetBenchmarks()

    let postgresConfiguration = Benchmark.Configuration(
        metrics: [rowsPerSecond], timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(30),
        maxIterations: 20)

    Benchmark(
        "PostgreSQL upsert of 1000 rows by binary arrays (unnest), one durable transaction",
        configuration: postgresConfiguration
    ) {
        benchmark in
        let database = try await postgresDatabase.value
        let connection = try await database.connect(logger: logger)
        let base = UUID().uuidString.prefix(8)
        let codes = (0..<1000).map { "000.00.12.H56-\(base)-\($0)" }
        let statuses = [Int32](repeating: 4, count: 1000)
        let versions = [Int64](repeating: 2, count: 1000)
        let holders = [String](repeating: "000.00.12.H56", count: 1000)
        let times = [Date](repeating: Date(), count: 1000)
        let events = [PostgresJSONB](repeating: PostgresJSONB(utf8: value), count: 1000)
        let start = ContinuousClock.now
        try await connection.withTransaction { session in
            try session.query(
                """
                INSERT INTO dossier_state (code, status, version, holder, updated_at, event)
                SELECT unnest(\(codes)::text[]), unnest(\(statuses)::int4[]), unnest(\(versions)::int8[]),
                       unnest(\(holders)::text[]), unnest(\(times)::timestamptz[]), unnest(\(events)::jsonb[])
                ON CONFLICT (code) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
                    holder = EXCLUDED.holder, updated_at = EXCLUDED.updated_at, event = EXCLUDED.event
                WHERE dossier_state.version < EXCLUDED.version
                """, prepared: true)
        }
        benchmark.measurement(rowsPerSecond, rate(1000, since: start))
        await connection.close()
    }

    Benchmark("PostgreSQL COPY of 1000 rows (binary), one durable transaction", configuration: postgresConfiguration) {
        benchmark in
        let database = try await postgresDatabase.value
        let connection = try await database.connect(logger: logger)
        var rows = PostgresCopyRows()
        let now = Date()
        for index in 0..<1000 {
            rows.append("000.00.12.H56-250701-\(index)", Int64(index), Int32(4), now, PostgresJSONB(utf8: value))
        }
        let loaded = rows
        let start = ContinuousClock.now
        try await connection.withTransaction { session in
            try session.copy(loaded, into: "dossier_history", columns: ["dossier", "version", "status", "at", "event"])
        }
        benchmark.measurement(rowsPerSecond, rate(1000, since: start))
        await connection.close()
    }
}

/// Rows kept as one array of structs (as the worker keeps its dossiers, history and outbox records), sent column by
/// column: the same values as the arrays of the benchmark before it.
private struct VersionedPayloads: PostgresColumnarRows {
    enum Column { case code, version, time, payload }

    let rows: [(code: String, version: Int64, time: Date, payload: [UInt8])]

    init(count: Int, payload: [UInt8]) {
        rows = (0..<count).map {
            (
                "000.00.12.H56-250701-\(1000 + $0)", Int64($0), Date(timeIntervalSince1970: 1_751_300_000 + Double($0)),
                payload
            )
        }
    }

    var rowCount: Int { rows.count }

    func encodedSize(of column: Column, row: Int) -> Int? {
        switch column {
        case .code: rows[row].code.utf8.count
        case .version: rows[row].version.postgresEncodedSize
        case .time: rows[row].time.postgresEncodedSize
        case .payload: rows[row].payload.count
        }
    }

    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter) {
        switch column {
        case .code: rows[row].code.encode(into: &writer)
        case .version: rows[row].version.encode(into: &writer)
        case .time: rows[row].time.encode(into: &writer)
        case .payload: writer.write(contentsOf: rows[row].payload)
        }
    }
}
