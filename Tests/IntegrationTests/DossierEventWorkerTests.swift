import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

private func eventJSON(dossier: String, version: Int, type: String, data: String, id: String? = nil) -> String {
    """
    {"specversion":"1.0","id":"\(id ?? "\(dossier)-v\(version)")","source":"/agencies/001.00.80.H26",\
    "type":"vn.gov.lienthong.\(type)","time":"2025-07-02T09:0\(version):00+07:00","subject":"\(dossier)",\
    "dossierversion":\(version),"produceragency":"001.00.80.H26","data":\(data)}
    """
}

private let receivedData =
    #"{"procedure":"1.001193","commune":"00004","channel":"online","applicant":{"name":"Lê Thị Hoa"}}"#

@Suite("Worker: consume → decode → persist against the embedded broker and the throwaway PostgreSQL")
struct DossierEventWorkerTests {
    let logger = Logger(label: "lienthong.test")

    private func count(_ sql: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        try await connection.query(sql)[0].decode(Int.self, at: 0)
    }

    private func makeWorker(
        _ kafka: TestKafka, _ database: TestDatabase, topic: String
    ) async throws -> DossierEventWorker {
        var writer = DossierBatchWriter(consumerGroup: kafka.uniqueName("workers"), referenceData: testReferenceData)
        writer.topics.deadLetter = "dlq"
        return try DossierEventWorker(
            consumerConfiguration: kafka.consumerConfiguration(group: "workers"), topic: topic,
            connection: try await database.connect(), positionsConnection: try await database.connect(), writer: writer,
            logger: logger)
    }

    @Test func eventsApplyOnceBadOnesAreDeadLetteredAndARestartResumesFromPostgres() async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: 3)
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)

            var records: [KafkaProducerMessage] = []
            for index in 1...3 {
                let dossier = "001.00.80.H26-250702-000\(index)"
                for (version, type, data) in [
                    (1, "dossier.submitted", receivedData), (2, "dossier.received", receivedData),
                    (3, "dossier.status-changed", #"{"status":4}"#),
                ] {
                    records.append(
                        KafkaProducerMessage(
                            topic: topic, key: dossier,
                            value: eventJSON(dossier: dossier, version: version, type: type, data: data)))
                }
            }
            let first = "001.00.80.H26-250702-0001"
            records.append(records[0])  // an upstream re-send: same event id
            // A malformed record.
            records.append(KafkaProducerMessage(topic: topic, key: first, value: #"{"specversion": "1.0", "id": "#))
            // 4 → 10 skips resolution: refused by the state machine.
            records.append(
                KafkaProducerMessage(
                    topic: topic, key: first,
                    value: eventJSON(
                        dossier: first, version: 4, type: "dossier.status-changed", data: #"{"status":10}"#)))
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send(records) { _ = try result.get() }

            let worker = try await makeWorker(kafka, database, topic: topic)
            let running = Task { await worker.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await count("SELECT count(*) FROM inbox", on: connection) < 11, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            await worker.close()
            await running.value

            #expect(
                try await count("SELECT count(*) FROM dossier WHERE status = 4 AND version = 3", on: connection) == 3)
            #expect(
                try await count("SELECT count(*) FROM dossier_history", on: connection) == 9,
                "the re-send had no effect")
            #expect(try await count("SELECT count(*) FROM inbox WHERE outcome = 'rejected'", on: connection) == 1)
            #expect(try await count("SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'", on: connection) == 1)
            let deadLetters = try await connection.query(
                "SELECT payload->>'reason' FROM outbox WHERE topic = 'dlq' ORDER BY id"
            )
            .map { try $0.decode(String.self, at: 0) }
            #expect(Set(deadLetters) == ["malformed_json", "invalid_transition"])
            let position = try await count("SELECT sum(next_offset)::int8 FROM consumer_position", on: connection)
            #expect(position == records.count, "every offset accounted for")

            // A restarted worker starts from PostgreSQL's positions: only the new record is applied.
            _ = try await producer.send(
                KafkaProducerMessage(
                    topic: topic, key: first,
                    value: eventJSON(
                        dossier: first, version: 4, type: "dossier.status-changed", data: #"{"status":9}"#,
                        id: "resolution")))
            let restarted = try await makeWorker(kafka, database, topic: topic)
            let runningAgain = Task { await restarted.run() }
            let secondDeadline = ContinuousClock.now + .seconds(30)
            while try await count("SELECT count(*) FROM inbox", on: connection) < 12,
                ContinuousClock.now < secondDeadline
            {
                try await Task.sleep(for: .milliseconds(100))
            }
            await restarted.close()
            await runningAgain.value
            #expect(try await count("SELECT count(*) FROM dossier_history", on: connection) == 10)
            #expect(try await count("SELECT count(*) FROM dossier WHERE status = 9", on: connection) == 1)
            await producer.close()
            await connection.close()
        }
    }
}
