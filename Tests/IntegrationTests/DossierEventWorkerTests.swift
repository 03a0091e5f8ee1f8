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

/// Polls `condition` every 100 ms until it holds or a minute has passed (the caller's expectations say which).
private func waitUntil(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while try await !condition(), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
    }
}

@Suite("Worker: consume → decode → persist against the embedded broker and the throwaway PostgreSQL")
struct DossierEventWorkerTests {
    let logger = Logger(label: "lienthong.test")

    private func makeWorker(
        _ kafka: TestKafka, _ database: TestDatabase, topic: String
    ) async throws -> DossierEventWorker {
        var writer = DossierBatchWriter(consumerGroup: kafka.uniqueName("workers"), referenceData: testReferenceData)
        writer.topics.deadLetter = "dlq"
        // Two write lanes: the topics here have several partitions, so both carry batches.
        return try DossierEventWorker(
            consumerConfiguration: kafka.consumerConfiguration(group: "workers"), topic: topic,
            connections: [try await database.connect(), try await database.connect()],
            positionsConnection: try await database.connect(), writer: writer, logger: logger)
    }

    /// A migrated throwaway database, an embedded cluster and an inbound topic of `partitions` partitions.
    private func withStoreAndTopic(
        partitions: Int32,
        _ body: (TestKafka, TestDatabase, String, PostgresConnection) async throws -> Void
    ) async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic("dossier.events", partitions: partitions)
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)
            try await body(kafka, database, topic, connection)
        }
    }

    /// Sends version `version` of `dossiers[p]` to partition `p`, for each of `partitions` (default: all).
    private func sendEach(
        _ dossiers: [String], _ kafka: TestKafka, topic: String, version: Int, type: String, data: String,
        partitions: [Int]? = nil
    ) async throws {
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        for result in await producer.send(
            (partitions ?? Array(dossiers.indices)).map { partition in
                KafkaProducerMessage(
                    topic: topic, partition: Int32(partition), key: Array(dossiers[partition].utf8),
                    value: Array(eventJSON(dossier: dossiers[partition], version: version, type: type, data: data).utf8)
                )
            })
        {
            _ = try result.get()
        }
        await producer.close()
    }

    /// Waits until one session of `database` waits on a lock (the worker's lane, blocked by the test's session).
    private func waitUntilOneSessionWaitsOnALock(
        _ database: TestDatabase, on connection: PostgresConnection
    )
        async throws
    {
        try await waitUntil {
            try await count(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = \(database.name) AND wait_event_type = 'Lock'",
                on: connection) == 1
        }
    }

    /// The stored status of `dossier`, 0 while it does not exist.
    private func dossierStatus(_ dossier: String, on connection: PostgresConnection) async throws -> Int {
        try await count("SELECT coalesce(max(status), 0)::int8 FROM dossier WHERE code = \(dossier)", on: connection)
    }

    @Test func eventsApplyOnceBadOnesAreDeadLetteredAndARestartResumesFromPostgres() async throws {
        try await withStoreAndTopic(partitions: 3) { kafka, database, topic, connection in

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
            #expect(
                try await count(
                    "SELECT count(*) FROM inbox WHERE consumed_at IS NULL OR consumed_at > received_at + interval '1 s'",
                    on: connection) == 0,
                "every row, the dead-lettered one included, says when its record was consumed, before its transaction")
            let deadLetters = try await connection.query(
                "SELECT outbox_json(payload)->>'reason' FROM outbox WHERE topic = 'dlq' ORDER BY batch_id, ordinal"
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

    @Test func aRecordTheStoreRefusesIsIsolatedAndADatabaseOutageIsWaitedOut() async throws {
        try await withStoreAndTopic(partitions: 2) { kafka, database, topic, connection in
            // A rule of the store refuses one dossier, as an operator's constraint would.
            let poison = "001.00.80.H26-250702-0003"
            try await connection.query(
                "ALTER TABLE dossier ADD CONSTRAINT refuse_one CHECK (code <> '001.00.80.H26-250702-0003')")

            func records(version: Int, type: String, data: String) -> [KafkaProducerMessage] {
                (1...6).map { index in
                    let dossier = "001.00.80.H26-250702-000\(index)"
                    return KafkaProducerMessage(
                        topic: topic, key: dossier,
                        value: eventJSON(dossier: dossier, version: version, type: type, data: data))
                }
            }
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send(
                records(version: 1, type: "dossier.received", data: receivedData)
                    + records(version: 2, type: "dossier.status-changed", data: #"{"status":4}"#))
            {
                _ = try result.get()
            }
            let worker = try await makeWorker(kafka, database, topic: topic)
            let running = Task { await worker.run() }
            func waitForInbox(_ expected: Int) async throws {
                let deadline = ContinuousClock.now + .seconds(60)
                while try await count("SELECT count(*) FROM inbox", on: connection) < expected,
                    ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try await waitForInbox(12)
            #expect(try await count("SELECT count(*) FROM dossier WHERE status = 4", on: connection) == 5)
            let letters = try await connection.query(
                "SELECT outbox_json(payload)->>'errorClass', outbox_json(payload)->>'reason', key FROM outbox WHERE topic = 'dlq' ORDER BY batch_id, ordinal"
            ).map { try $0.decode((String, String, String).self) }
            #expect(letters.first.map { [$0.0, $0.1, $0.2] } == ["store_refused", "sqlstate_23514", poison])
            #expect(letters.count == 2, "its next event is refused too: the dossier does not exist")

            // An outage: the database refuses connections and the worker's are cut.
            let testSession = try await count("SELECT pg_backend_pid()::int8", on: connection)
            let admin = try await PostgresConnection.connect(
                configuration: PostgresConfiguration(
                    connectionString: database.url.replacingOccurrences(of: "/\(database.name)", with: "/postgres")),
                logger: logger)
            try await admin.query("ALTER DATABASE \(identifier: database.name) ALLOW_CONNECTIONS false")
            try await admin.query(
                """
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = \(database.name) AND pid <> \(Int64(testSession))
                """)
            for result in await producer.send(
                records(version: 3, type: "dossier.status-changed", data: #"{"status":9}"#))
            {
                _ = try result.get()
            }
            try await Task.sleep(for: .seconds(2))
            #expect(try await count("SELECT count(*) FROM inbox", on: connection) == 12, "nothing applied meanwhile")
            try await admin.query("ALTER DATABASE \(identifier: database.name) ALLOW_CONNECTIONS true")
            await admin.close()
            try await waitForInbox(18)
            await worker.close()
            await running.value
            #expect(try await count("SELECT count(*) FROM dossier WHERE status = 9", on: connection) == 5)
            let position = try await count("SELECT sum(next_offset)::int8 FROM consumer_position", on: connection)
            #expect(position == 18, "every offset accounted for, none skipped during the outage")
            await producer.close()
            await connection.close()
        }
    }
    /// Another transaction stores the same event while the worker writes it (a revoked worker finishing its
    /// batch): the worker's insert waits, fails on the unique key once the other commits, and the second attempt
    /// counts the event a duplicate; nothing is dead-lettered and the offset is accounted for.
    @Test func anEventStoredConcurrentlyElsewhereIsADuplicateNotADeadLetter() async throws {
        try await withStoreAndTopic(partitions: 1) { kafka, database, topic, connection in
            let dossier = "001.00.80.H26-250702-0001"
            let eventID = "\(dossier)-v1"
            let blocker = try await database.connect()
            try await blocker.run { session in
                try session.runScript(
                    """
                    BEGIN;
                    INSERT INTO inbox (event_id, topic, partition, "offset", outcome)
                    VALUES ('\(eventID)', '\(topic)', 0, 0, 'applied')
                    """)
            }
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            for result in await producer.send([
                KafkaProducerMessage(
                    topic: topic, key: dossier,
                    value: eventJSON(dossier: dossier, version: 1, type: "dossier.received", data: receivedData))
            ]) {
                _ = try result.get()
            }
            await producer.close()
            let worker = try await makeWorker(kafka, database, topic: topic)
            let running = Task { await worker.run() }
            try await waitUntilOneSessionWaitsOnALock(database, on: connection)
            try await blocker.run { try $0.runScript("COMMIT") }
            try await waitUntil {
                try await count("SELECT coalesce(sum(next_offset), 0)::int8 FROM consumer_position", on: connection)
                    == 1
            }
            await worker.close()
            await running.value
            #expect(
                try await count("SELECT coalesce(sum(next_offset), 0)::int8 FROM consumer_position", on: connection)
                    == 1)
            #expect(try await count("SELECT count(*) FROM outbox WHERE topic = 'dlq'", on: connection) == 0)
            #expect(try await count("SELECT count(*) FROM dossier", on: connection) == 0, "applied once, elsewhere")
            await blocker.close()
            await connection.close()
        }
    }

    /// Partition 0 goes to lane 0, partition 1 to lane 1, each its own transaction: while a lock held elsewhere
    /// blocks lane 0 on one dossier, lane 1's dossier is written and committed, and so is its next batch; once the
    /// lock goes, lane 0 follows in order, and every offset is accounted for once.
    @Test func eachLaneCommitsOnItsOwnWhileTheOtherWaitsOnALock() async throws {
        try await withStoreAndTopic(partitions: 2) { kafka, database, topic, connection in
            let dossiers = ["001.00.80.H26-250702-0001", "001.00.80.H26-250702-0002"]
            func send(version: Int, type: String, data: String) async throws {
                try await sendEach(dossiers, kafka, topic: topic, version: version, type: type, data: data)
            }
            func status(_ dossier: String) async throws -> Int { try await dossierStatus(dossier, on: connection) }
            let worker = try await makeWorker(kafka, database, topic: topic)
            let running = Task { await worker.run() }
            try await send(version: 1, type: "dossier.received", data: receivedData)
            try await waitUntil { try await count("SELECT count(*) FROM inbox", on: connection) == 2 }

            let blocker = try await database.connect()
            let blocked = dossiers[0]
            try await blocker.run { session in
                try session.runScript("BEGIN; SELECT 1 FROM dossier WHERE code = '\(blocked)' FOR UPDATE")
            }
            try await send(version: 2, type: "dossier.status-changed", data: #"{"status":4}"#)
            try await waitUntil { try await status(dossiers[1]) == 4 }
            #expect(try await status(dossiers[1]) == 4, "lane 1 committed")
            #expect(try await status(blocked) == 2, "lane 0 waits for the lock")
            try await send(version: 3, type: "dossier.status-changed", data: #"{"status":5}"#)
            try await waitUntil { try await status(dossiers[1]) == 5 }
            #expect(try await status(dossiers[1]) == 5, "lane 1 goes on to the next batch")
            #expect(try await status(blocked) == 2, "lane 0 still waits, its next share queued behind")
            try await blocker.run { try $0.runScript("ROLLBACK") }
            try await waitUntil { try await status(blocked) == 5 }
            #expect(try await status(blocked) == 5)
            await worker.close()
            await running.value
            #expect(try await count("SELECT count(*) FROM inbox", on: connection) == 6)
            #expect(try await count("SELECT sum(next_offset)::int8 FROM consumer_position", on: connection) == 6)
            await blocker.close()
            await connection.close()
        }
    }

    /// The worker closes while PostgreSQL keeps refusing a share of partition 0: that share is given up
    /// uncommitted, and so is the share queued behind it, though the store would take that one (storing its
    /// position would skip the given-up record for good). The close revokes the partition, and the lane's
    /// abandoned-partition guard covers the moment before the revocation. The next worker reads both again from
    /// the stored position and applies them in order.
    @Test func closingDuringAnOutageGivesUpTheShareAndTheOneQueuedBehindIt() async throws {
        try await withStoreAndTopic(partitions: 2) { kafka, database, topic, connection in
            let dossiers = ["001.00.80.H26-250702-0001", "001.00.80.H26-250702-0002"]
            func send(version: Int, type: String, data: String, partitions: [Int] = [0, 1]) async throws {
                try await sendEach(
                    dossiers, kafka, topic: topic, version: version, type: type, data: data, partitions: partitions)
            }
            func status(_ dossier: String) async throws -> Int { try await dossierStatus(dossier, on: connection) }
            func storedPosition(partition: Int) async throws -> Int {
                try await count(
                    "SELECT coalesce(max(next_offset), 0) FROM consumer_position WHERE partition = \(Int32(partition))",
                    on: connection)
            }
            // The store refuses, as a transient failure (class 53), every transaction that would account for
            // partition 0's second record: that share is retried until the worker gives it up.
            try await connection.run { session in
                try session.runScript(
                    """
                    CREATE FUNCTION refuse_second_record() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.partition = 0 AND NEW.next_offset = 2 THEN
                            RAISE EXCEPTION 'simulated outage' USING ERRCODE = '53000';
                        END IF;
                        RETURN NEW;
                    END $$;
                    CREATE TRIGGER refuse_second_record BEFORE INSERT ON consumer_position
                        FOR EACH ROW EXECUTE FUNCTION refuse_second_record();
                    """)
            }
            let worker = try await makeWorker(kafka, database, topic: topic)
            let running = Task { await worker.run() }
            try await send(version: 1, type: "dossier.received", data: receivedData)
            try await waitUntil { try await count("SELECT count(*) FROM inbox", on: connection) == 2 }

            // Partition 0's second record waits on a lock, so its partition is not paused yet when the third is
            // fetched; lane 1 writing its own third record shows that batch was fetched and lane 0's share of it
            // queued behind the waiting one.
            let blocker = try await database.connect()
            try await blocker.run { session in
                try session.runScript("BEGIN; SELECT 1 FROM dossier WHERE code = '\(dossiers[0])' FOR UPDATE")
            }
            try await send(version: 2, type: "dossier.status-changed", data: #"{"status":4}"#, partitions: [0])
            try await waitUntilOneSessionWaitsOnALock(database, on: connection)
            try await send(version: 2, type: "dossier.status-changed", data: #"{"status":4}"#, partitions: [1])
            try await send(version: 3, type: "dossier.status-changed", data: #"{"status":5}"#)
            try await waitUntil { try await status(dossiers[1]) == 5 }
            #expect(try await status(dossiers[1]) == 5, "lane 1 wrote the third batch")
            try await blocker.run { try $0.runScript("ROLLBACK") }
            await blocker.close()
            try await Task.sleep(for: .milliseconds(500))  // lane 0 fails, backs off, retries
            await worker.close()
            await running.value
            #expect(try await status(dossiers[0]) == 2, "neither of partition 0's later records was written")
            #expect(try await storedPosition(partition: 0) == 1, "the stored position stops at the abandoned record")
            #expect(try await count("SELECT count(*) FROM inbox WHERE outcome = 'held'", on: connection) == 0)

            // The outage ends; the next worker resumes at the abandoned record and applies both, in order.
            try await connection.query("DROP TRIGGER refuse_second_record ON consumer_position")
            let restarted = try await makeWorker(kafka, database, topic: topic)
            let runningAgain = Task { await restarted.run() }
            try await waitUntil { try await status(dossiers[0]) == 5 }
            await restarted.close()
            await runningAgain.value
            #expect(try await status(dossiers[0]) == 5)
            #expect(try await storedPosition(partition: 0) == 3)
            #expect(try await count("SELECT count(*) FROM inbox", on: connection) == 6)
            await connection.close()
        }
    }
}
