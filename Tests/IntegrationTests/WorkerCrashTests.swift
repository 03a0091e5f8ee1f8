import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

@Suite("Worker crashes against the embedded broker and the throwaway PostgreSQL")
struct WorkerCrashTests {
    let logger = Logger(label: "lienthong.test")

    @Test(.enabled(if: !TestKafka.usesRealBrokers, "needs the embedded broker in this process"))
    func killedAtRandomPointsAndRestartedNothingIsLostOrAppliedTwice() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: 4)
            let statusTopic = try await kafka.createTopic("dossier.status", partitions: 4)
            let deadLetterTopic = try await kafka.createTopic("dossier.dlq", partitions: 1)
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)

            let records = Self.records(topic: topic)
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            var endOffsets: [KafkaTopicPartition: Int64] = [:]
            var idsByOffset: [KafkaTopicPartition: [Int64: String]] = [:]
            for (record, result) in zip(records, await producer.send(records.map(\.message))) {
                let report = try result.get()
                endOffsets[report.topicPartition] = max(endOffsets[report.topicPartition] ?? 0, report.offset + 1)
                idsByOffset[report.topicPartition, default: [:]][report.offset] = record.id
            }

            let group = kafka.uniqueName("crash-workers")
            let arguments = [
                "worker", "--brokers", kafka.bootstrapServers, "--database-url", database.url, "--topic", topic,
                "--group", group, "--reference-data", referenceDataDirectory,
                "--status-topic", statusTopic, "--dead-letter-topic", deadLetterTopic, "--relay",
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
            ]
            func inboxCount() async throws -> Int {
                try await connection.query("SELECT count(*) FROM inbox")[0].decode(Int.self, at: 0)
            }

            for kill in 1...3 {
                let worker = try runLienThong(arguments)
                let before = try await inboxCount()
                // Wait for progress, then kill somewhere in the middle of the work.
                let deadline = ContinuousClock.now + .seconds(30)
                while try await inboxCount() == before, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...400)))
                Foundation.kill(worker.processIdentifier, SIGKILL)
                worker.waitUntilExit()
                let processed = try await inboxCount()
                logger.info("killed worker", metadata: ["kill": "\(kill)", "inbox": "\(processed)"])
            }

            let last = try runLienThong(arguments)
            var report = ReconciliationReport()
            let deadline = ContinuousClock.now + .seconds(90)
            repeat {
                try await Task.sleep(for: .milliseconds(250))
                report = try await Reconciliation.run(
                    consumerGroup: group, endOffsets: endOffsets, eventIDsByOffset: idsByOffset, on: connection)
            } while !report.isClean && ContinuousClock.now < deadline
            last.terminate()  // SIGTERM: graceful stop
            last.waitUntilExit()

            #expect(report.isClean, "\(report)")
            #expect(report.lost == 0)
            #expect(report.appliedTwice == 0)
            #expect(report.resentOffsets == 60)
            #expect(report.outcomes["applied"] == 3000)
            #expect(last.terminationStatus == 0, "SIGTERM ends the worker cleanly")
            let closed = try await connection.query("SELECT count(*) FROM dossier WHERE status = 10 AND version = 5")[0]
                .decode(Int.self, at: 0)
            #expect(closed == 600)
            await producer.close()
            await connection.close()
        }
    }

    /// 600 dossiers × 5 events, plus 60 upstream re-sends of already sent events.
    private static func records(topic: String) -> [(message: KafkaProducerMessage, id: String)] {
        let opening = #"{"procedure":"1.001193","commune":"00004","channel":"online","applicant":{"name":"Phạm Minh"}}"#
        let steps: [(type: String, data: String)] = [
            ("dossier.submitted", opening), ("dossier.received", opening), ("dossier.status-changed", #"{"status":4}"#),
            ("dossier.status-changed", #"{"status":9}"#), ("dossier.status-changed", #"{"status":10}"#),
        ]
        var records: [(message: KafkaProducerMessage, id: String)] = []
        for (index, step) in steps.enumerated() {
            let version = index + 1
            for number in 1...600 {
                let dossier = "001.00.80.H26-250702-" + String(format: "%04d", number)
                let id = "\(dossier)-v\(version)"
                let json =
                    #"{"specversion":"1.0","id":"\#(id)","source":"/agencies/001.00.80.H26","type":"vn.gov.lienthong.\#(step.type)","#
                    + #""time":"2025-07-02T09:0\#(version):00+07:00","subject":"\#(dossier)","dossierversion":\#(version),"#
                    + #""produceragency":"001.00.80.H26","data":\#(step.data)}"#
                records.append((KafkaProducerMessage(topic: topic, key: dossier, value: json), id))
            }
        }
        return records + records.prefix(60)
    }
}
