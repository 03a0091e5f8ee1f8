import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

@Suite("A worker fleet as child processes against the embedded broker and the throwaway PostgreSQL")
struct WorkerFleetTests {
    let logger = Logger(label: "lienthong.test")

    @Test(.enabled(if: !TestKafka.usesRealBrokers, "needs the embedded broker in this process"))
    func membersLeaveAndJoinAndABrokerFailsNothingIsLostAndStatusEventsStayInOrder() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: 6)
            var topics = OutboundTopics()
            topics.status = try await kafka.createTopic("dossier.status", partitions: 3)
            topics.deadLetter = try await kafka.createTopic("dossier.events.dlq", partitions: 1)
            topics.triage = try await kafka.createTopic("dossier.triage", partitions: 1)
            topics.portalSync = try await kafka.createTopic("portal.sync", partitions: 3)
            let workPrefix = kafka.uniqueName("dossier.work")
            for destination in ["commune", "department", "ministry"] {
                try kafka.embedded?.createTopic("\(workPrefix).\(destination)", partitions: 3)
            }
            let connection = try await migratedConnection(database)

            let dossiers = 400
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send(Self.lifecycles(dossiers: dossiers, topic: topic)) {
                _ = try result.get()
            }
            let group = kafka.uniqueName("fleet")
            let arguments = [
                "worker", "--brokers", kafka.bootstrapServers, "--database-url", database.url, "--topic", topic,
                "--group", group, "--relay", "--reference-data", referenceDataDirectory,
                "--status-topic", topics.status, "--dead-letter-topic", topics.deadLetter,
                "--triage-topic", topics.triage, "--portal-sync-topic", topics.portalSync,
                "--work-topic-prefix", workPrefix,
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
            ]
            func inboxCount() async throws -> Int { try await count("SELECT count(*) FROM inbox", on: connection) }
            let ports = TestPorts.random(count: 3)
            let first = try runLienThong(arguments + ["--worker-id", "a", "--http-port", String(ports[0])])
            let second = try runLienThong(arguments + ["--worker-id", "b", "--http-port", String(ports[1])])
            let started = ContinuousClock.now
            while try await inboxCount() < 400, ContinuousClock.now < started + .seconds(60) {
                try await Task.sleep(for: .milliseconds(50))
            }
            // One member leaves gracefully, a broker fails and comes back, another member joins.
            first.terminate()
            first.waitUntilExit()
            #expect(first.terminationStatus == 0, "SIGTERM: drained, committed, exit 0")
            try kafka.embedded?.setBrokerDown(1)
            try await Task.sleep(for: .seconds(2))
            #expect(try await get(ports[1], "/livez").status == 200, "a broker down is no reason to restart")
            // The worker's consumer or its relay's producer, whichever notices first, counts (and logs) the loss.
            var kafkaErrors: [Substring] = []
            let noticeDeadline = ContinuousClock.now + .seconds(15)
            repeat {
                kafkaErrors = try await get(ports[1], "/metrics").body.split(separator: "\n")
                    .filter { $0.hasPrefix("lienthong_kafka_errors_total") }
                if kafkaErrors.contains(where: { $0.contains(#"error="_TRANSPORT""#) }) { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < noticeDeadline
            #expect(
                kafkaErrors.contains { $0.contains(#"error="_TRANSPORT""#) },
                "the lost broker is counted: \(kafkaErrors)")
            try kafka.embedded?.setBrokerUp(1)
            let third = try runLienThong(arguments + ["--worker-id", "c", "--http-port", String(ports[2])])

            var report = ReconciliationReport()
            let deadline = ContinuousClock.now + .seconds(120)
            repeat {
                try await Task.sleep(for: .milliseconds(500))
                let scan = try await InboundTopicScan.read(
                    topic: topic, bootstrapServers: kafka.bootstrapServers, logger: logger)
                report = try await Reconciliation.run(
                    consumerGroup: group, endOffsets: scan.endOffsets, eventIDsByOffset: scan.eventIDsByOffset,
                    on: connection)
            } while !report.isClean && ContinuousClock.now < deadline
            #expect(report.isClean, "\(report)")
            #expect(report.outcomes["applied"] == dossiers * 5)

            // The reconcile command agrees, and says so with exit 0.
            let reconcile = try runLienThong(
                [
                    "reconcile", "--brokers", kafka.bootstrapServers, "--database-url", database.url, "--topic", topic,
                    "--group", group,
                ], output: Pipe())
            reconcile.waitUntilExit()
            #expect(reconcile.terminationStatus == 0)

            // Each worker's own view: ready, and counting what it applied.
            for port in ports[1...2] {
                // Readiness may flip while the group settles after the join: ask until it holds.
                var readiness = try await get(port, "/readyz")
                let settle = ContinuousClock.now + .seconds(20)
                while readiness.status != 200, ContinuousClock.now < settle {
                    try await Task.sleep(for: .milliseconds(250))
                    readiness = try await get(port, "/readyz")
                }
                #expect(readiness.status == 200, "6 partitions between 2 members: both hold some. \(readiness.body)")
            }
            let metrics = try await get(ports[1], "/metrics").body + (try await get(ports[2], "/metrics").body)
            #expect(metrics.contains(#"lienthong_events_total{type="received",outcome="applied"}"#))

            for worker in [second, third] {
                worker.terminate()
                worker.waitUntilExit()
                #expect(worker.terminationStatus == 0)
            }
            let versions = try await statusVersions(kafka, topic: topics.status, expected: dossiers * 4)
            #expect(versions.count == dossiers)
            #expect(
                versions.values.allSatisfy { $0 == $0.sorted() && Set($0).count == $0.count },
                "each dossier's status events arrive once each, in version order")
            await producer.close()
            await connection.close()
        }
    }

    /// A worker whose HTTP port is taken (here by a broker of the embedded cluster) stops and exits 1 naming
    /// `http.port`, instead of running without probes or metrics.
    @Test(.enabled(if: !TestKafka.usesRealBrokers, "takes the embedded broker's port"))
    func aTakenHTTPPortStopsTheWorkerNamingTheKey() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: 1)
            let connection = try await migratedConnection(database)
            await connection.close()
            let takenPort = try #require(kafka.embeddedBrokerPort)
            var environment = ProcessInfo.processInfo.environment
            environment["LIENTHONG_HTTP_HOST"] = "127.0.0.1"
            let result = try runLienThongToEnd(
                [
                    "worker", "--brokers", kafka.bootstrapServers, "--database-url", database.url, "--topic", topic,
                    "--group", kafka.uniqueName("taken-port"), "--reference-data", referenceDataDirectory,
                    "--http-port", String(takenPort),
                ], environment: environment)
            #expect(result.status == 1, "\(result.output)")
            #expect(result.output.contains("http.port"), "\(result.output)")
        }
    }

    /// Every dossier: received, processing, result attached, resolved, returned (four status changes).
    private static func lifecycles(dossiers: Int, topic: String) -> [KafkaProducerMessage] {
        let steps: [(type: String, data: String)] = [
            ("dossier.received", openingData(procedure: "2.001837")), ("dossier.status-changed", #"{"status":4}"#),
            ("dossier.result-attached", #"{"documentId":"KQ-1"}"#), ("dossier.status-changed", #"{"status":9}"#),
            ("dossier.status-changed", #"{"status":10}"#),
        ]
        var messages: [KafkaProducerMessage] = []
        for (index, step) in steps.enumerated() {
            for number in 1...dossiers {
                let dossier = "001.00.80.H26-250702-" + String(format: "%04d", number)
                let json =
                    #"{"specversion":"1.0","id":"\#(dossier)-v\#(index + 1)","source":"/agencies/001.00.80.H26","#
                    + #""type":"vn.gov.lienthong.\#(step.type)","time":"2025-07-02T09:0\#(index + 1):00+07:00","#
                    + #""subject":"\#(dossier)","dossierversion":\#(index + 1),"produceragency":"001.00.80.H26","#
                    + #""data":\#(step.data)}"#
                messages.append(KafkaProducerMessage(topic: topic, key: dossier, value: json))
            }
        }
        return messages
    }

    /// Reads the status topic until `expected` records: each dossier's versions in arrival order.
    private func statusVersions(_ kafka: TestKafka, topic: String, expected: Int) async throws -> [String: [Int]] {
        let consumer = try KafkaConsumer(
            configuration: kafka.consumerConfiguration(group: "status-reader"), logger: logger)
        try consumer.subscribe(topics: [topic])
        var versions: [String: [Int]] = [:]
        var received = 0
        let reading = Task {
            for await batch in consumer.batches {
                for message in batch {
                    guard let value = message.value,
                        let event = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any],
                        let subject = event["subject"] as? String, let version = event["dossierversion"] as? Int
                    else { continue }
                    versions[subject, default: []].append(version)
                    received += 1
                }
                if received >= expected { break }
            }
            return versions
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(60))
            await consumer.close()
        }
        let result = await reading.value
        timeout.cancel()
        await consumer.close()
        return result
    }
}

/// Runs `lienthong` to its end: exit status and combined output.
func runLienThongToEnd(
    _ arguments: [String], environment: [String: String]? = nil
) throws -> (status: Int32, output: String) {
    let pipe = Pipe()
    let process = try runLienThong(arguments, output: pipe, environment: environment)
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// Starts the `lienthong` executable; its output is discarded unless a pipe is given.
func runLienThong(_ arguments: [String], output: Pipe? = nil, environment: [String: String]? = nil) throws -> Process {
    let process = Process()
    process.executableURL = lienThongExecutable
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = output ?? FileHandle.nullDevice
    process.standardError = output ?? FileHandle.nullDevice
    try process.run()
    return process
}
