import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

@Suite("Reconciliation against the throwaway PostgreSQL")
struct ReconciliationTests {
    let logger = Logger(label: "lienthong.test")

    /// Partition 0 holds 25,000 offsets (more than one slice of the inbox scan): 12,345 is a re-send of an event
    /// first stored from partition 1, 20,000 has no inbox row (another topic's row at that position does not
    /// count). Partition 1 has rows for offsets 0–2 and none for 3; its stored position is behind.
    @Test func namesTheLostOffsetsAndTellsResendsApart() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)
            try await connection.query(
                """
                INSERT INTO inbox (event_id, topic, partition, "offset", outcome)
                SELECT 'e-0-' || n, 'dossier.events', 0, n, 'applied' FROM generate_series(0, 24999) AS n
                WHERE n NOT IN (12345, 20000)
                UNION ALL VALUES ('e-1-0', 'dossier.events', 1, 0, 'applied'),
                                 ('e-1-1', 'dossier.events', 1, 1, 'duplicate'),
                                 ('e-1-2', 'dossier.events', 1, 2, 'dead_lettered'),
                                 ('x-0', 'other.events', 0, 20000, 'applied'),
                                 ('x-1', 'dossier.events', 2, 0, 'applied')
                """)
            try await connection.query(
                """
                INSERT INTO consumer_position (consumer_group, topic, partition, next_offset)
                VALUES ('workers', 'dossier.events', 0, 25000), ('workers', 'dossier.events', 1, 3)
                """)
            let first = KafkaTopicPartition(topic: "dossier.events", partition: 0)
            let second = KafkaTopicPartition(topic: "dossier.events", partition: 1)
            var firstIDs = Dictionary(uniqueKeysWithValues: (0..<25_000).map { (Int64($0), "e-0-\($0)") })
            firstIDs[12_345] = "e-1-0"

            let report = try await Reconciliation.run(
                consumerGroup: "workers", endOffsets: [first: 25_000, second: 4],
                eventIDsByOffset: [first: firstIDs, second: [0: "e-1-0", 1: "e-1-1", 2: "e-1-2"]], on: connection)

            #expect(report.offsets == 25_004)
            #expect(report.outcomes == ["applied": 24_999, "duplicate": 1, "dead_lettered": 1])
            #expect(report.unaccountedOffsets == 3)
            #expect(report.resentOffsets == 1)
            #expect(report.lost == 2)
            #expect(report.missingOffsets == ["dossier.events/0@20000", "dossier.events/1@3"])
            #expect(report.partitionsBehind == 1)
            #expect(!report.isClean)
            await connection.close()
        }
    }

    /// `lienthong reconcile`'s order: the inbox first, then a topic scan that keeps only the event ids of offsets
    /// without an inbox row. Of 40 records, offset 7 is a re-send of offset 3's event and offset 9 was never
    /// stored: the scan keeps those two ids, and the report names 9 alone.
    @Test func theTopicScanKeepsOnlyTheEventIDsOfOffsetsWithoutAnInboxRow() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: 1)
            let ids = (0..<40).map { $0 == 7 ? "e-3" : "e-\($0)" }
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send(
                ids.map { KafkaProducerMessage(topic: topic, key: "dossier", value: #"{"id":"\#($0)"}"#) })
            {
                _ = try result.get()
            }
            await producer.close()
            try await connection.query(
                """
                INSERT INTO inbox (event_id, topic, partition, "offset", outcome)
                SELECT 'e-' || n, \(topic), 0, n, 'applied' FROM generate_series(0, 39) AS n WHERE n NOT IN (7, 9)
                """)
            try await connection.query(
                """
                INSERT INTO consumer_position (consumer_group, topic, partition, next_offset)
                VALUES ('workers', \(topic), 0, 40)
                """)

            let ends = try await InboundTopicScan.endOffsets(
                topic: topic, bootstrapServers: kafka.bootstrapServers, logger: logger)
            let partition = KafkaTopicPartition(topic: topic, partition: 0)
            #expect(ends == [partition: 40])
            let recorded = try await Reconciliation.recordedOffsets(below: ends, on: connection)
            let scan = try await InboundTopicScan.read(
                topic: topic, bootstrapServers: kafka.bootstrapServers, endOffsets: ends,
                keepingEventIDsWhere: { !recorded.covers($0, $1) }, logger: logger)
            #expect(scan.eventIDsByOffset == [partition: [7: "e-3", 9: "e-9"]])

            let report = try await Reconciliation.run(
                consumerGroup: "workers", recorded: recorded, eventIDsByOffset: scan.eventIDsByOffset, on: connection)
            #expect(report.offsets == 40)
            #expect(report.outcomes == ["applied": 38])
            #expect(report.resentOffsets == 1)
            #expect(report.lost == 1)
            #expect(report.missingOffsets == ["\(topic)/0@9"])
            #expect(report.partitionsBehind == 0)
            await connection.close()
        }
    }
}
