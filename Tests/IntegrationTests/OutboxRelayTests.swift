import Foundation
import LienThongKafka
import LienThongPostgres
import LienThongTestSupport
import Logging
import Testing

@_spi(Testing) @testable import LienThongWorker

/// Inserts an outbox row for `topic` in its own transaction.
private func enqueue(
    _ eventID: String, topic: String, dossier: String = "001.00.80.H26-250702-0001", on connection: PostgresConnection
) async throws {
    try await connection.query(
        """
        INSERT INTO outbox (topic, key, event_id, event_type, payload, dossier)
        VALUES (\(topic), \(dossier), \(eventID), 'vn.gov.lienthong.dossier.status', \(PostgresBytes(Array(#"{"id":"\#(eventID)"}"#.utf8))), \(dossier))
        """)
}

@Suite("Outbox relay against the throwaway PostgreSQL and the embedded broker")
struct OutboxRelayTests {
    let logger = Logger(label: "lienthong.test")

    @Test func aRowWithAnUnconfirmedRecordHoldsBackTheLaterRowsOfItsShardOnly() {
        // Rows 1 (shard 0), 2 (shard 1), 3 (shard 0), 4 (shard 2); row 2's second record was not confirmed.
        let rows: [Int64] = [1, 1, 2, 2, 3, 4]
        let shards: [Int32] = [0, 0, 1, 1, 0, 2]
        let confirmed = [true, true, true, false, true, true]
        #expect(OutboxRelay.markableInOrder(rows: rows, shards: shards, confirmed: confirmed) == [1, 3, 4])
        // Row 1 failed: row 3 of the same shard waits behind it, even though all of its records were confirmed.
        #expect(
            OutboxRelay.markableInOrder(rows: [1, 3], shards: [0, 0], confirmed: [false, true]).isEmpty)
        #expect(OutboxRelay.markableInOrder(rows: [], shards: [], confirmed: []).isEmpty)
    }

    /// Runs `body` with a migrated store, a broker holding a new topic named after `base`, and a producer.
    private func withStoreAndBroker(
        topic base: String, partitions: Int32 = 1,
        _ body: (_ database: TestDatabase, _ kafka: TestKafka, _ topic: String, PostgresConnection, KafkaProducer)
            async throws -> Void
    ) async throws {
        try await withTestDatabase { database in
            let kafka = try TestKafka()
            defer { kafka.close() }
            let topic = try await kafka.createTopic(base, partitions: partitions)
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(on: connection, logger: logger)
            let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
            try await body(database, kafka, topic, connection, producer)
            await producer.close()
        }
    }

    /// The messages read from `topic`, in order (`count` expected, and any more that arrive within 0.5 s).
    private func published(_ kafka: TestKafka, topic: String, count: Int) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(
            configuration: kafka.consumerConfiguration(group: "reader-\(UUID())"), logger: logger)
        try consumer.subscribe(topics: [topic])
        let messages = await collect(consumer, count: count, timeout: .seconds(20))
        let extra = await collect(consumer, count: 1000, timeout: .milliseconds(500))
        await consumer.close()
        return messages + extra
    }

    /// Event ids (the `ce_id` header) read from `topic`, in order.
    private func publishedIDs(_ kafka: TestKafka, topic: String, count: Int) async throws -> [String] {
        try await published(kafka, topic: topic, count: count).compactMap {
            $0.header("ce_id").map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Queues records of several dossiers (so several shards), with and without correlation ids and extra
    /// headers, some keyed by their destination rather than their dossier (as work items are), as a worker does,
    /// remembering them in `cache`.
    private func enqueueRemembered(
        _ count: Int, topic: String, cache: OutboxRecordCache, on connection: PostgresConnection
    ) async throws {
        var rows = OutboxRows()
        for index in 0..<count {
            let dossier = "001.00.80.H26-250702-\(1000 + index % 5)"
            rows.append(
                OutboxRecord(
                    topic: topic, key: index % 4 == 1 ? "H26.\(index)" : dossier, eventID: "m\(index)",
                    type: "vn.gov.lienthong.dossier.status",
                    payload: Array(#"{"id":"m\#(index)","note":"Phường Hoàn Kiếm"}"#.utf8), dossier: dossier,
                    correlationID: index % 2 == 0 ? "corr-\(index)" : nil,
                    headers: index % 3 == 0 ? ["reason", "refused \(index)", "error_class", "refused"] : []))
        }
        try await connection.withTransaction { [rows] in try rows.insert(in: $0, remembering: cache) }
    }

    @Test func rowsRememberedInMemoryArePublishedExactlyAsRowsReadFromTheTable() async throws {
        try await withStoreAndBroker(topic: "memory") { database, kafka, topic, connection, producer in
            let cache = OutboxRecordCache()
            try await enqueueRemembered(12, topic: topic, cache: cache, on: connection)
            #expect(cache.recordCount == 12)
            let fromMemory = OutboxRelay(
                connection: try await database.connect(), producer: producer, cache: cache, logger: logger)
            #expect(try await fromMemory.publishPending(markingPublished: false) == 0)  // published, not marked
            #expect(cache.recordCount == 0, "the round took every row from memory")
            let fromTable = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            #expect(try await fromTable.publishPending() == 12)
            let messages = try await published(kafka, topic: topic, count: 24)
            #expect(messages.count == 24)
            let byID = Dictionary(grouping: messages) { String(decoding: $0.header("ce_id") ?? [], as: UTF8.self) }
            #expect(byID.count == 12)
            for (id, copies) in byID {
                #expect(copies.count == 2, "\(id) once from memory, once from the table")
                guard let first = copies.first, let second = copies.last else { continue }
                #expect(first.key == second.key && first.value == second.value, "\(id)")
                #expect(first.headers == second.headers, "\(id): same headers in the same order")
            }
            let refused = try #require(byID["m3"]?.first)
            #expect(refused.headers.map(\.name) == ["ce_id", "ce_type", "ce_source", "error_class", "reason"])
            // The whole header contract: the CloudEvents three, the correlation id, then the extras sorted by name.
            let correlated = try #require(byID["m0"]?.first)
            #expect(
                correlated.headers.map { "\($0.name)=\(String(decoding: $0.value ?? [], as: UTF8.self))" } == [
                    "ce_id=m0", "ce_type=vn.gov.lienthong.dossier.status", "ce_source=/lienthong",
                    "correlation_id=corr-0", "error_class=refused", "reason=refused 0",
                ])
        }
    }

    @Test func aRememberedRowAlreadyPublishedIsNotPublishedAgain() async throws {
        try await withStoreAndBroker(topic: "remembered") { database, kafka, topic, connection, producer in
            let cache = OutboxRecordCache()
            try await enqueueRemembered(6, topic: topic, cache: cache, on: connection)
            let other = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            #expect(try await other.publishPending() == 6)
            let fromMemory = OutboxRelay(
                connection: try await database.connect(), producer: producer, cache: cache, logger: logger)
            #expect(try await fromMemory.publishPending() == 0)
            #expect(try await publishedIDs(kafka, topic: topic, count: 6).count == 6)
        }
    }

    @Test func pendingRowsArePublishedWithHeadersAndMarkedOnce() async throws {
        try await withStoreAndBroker(topic: "status") { database, kafka, topic, connection, producer in
            for index in 0..<5 { try await enqueue("e\(index)", topic: topic, on: connection) }
            let relay = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            #expect(try await relay.publishPending() == 5)
            #expect(try await relay.publishPending() == 0)
            #expect(try await publishedIDs(kafka, topic: topic, count: 5) == ["e0", "e1", "e2", "e3", "e4"])
            let pending = try await connection.query("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0]
                .decode(Int.self, at: 0)
            #expect(pending == 0)
        }
    }

    @Test func aRowCommittedLateWithALowerIDIsStillPublished() async throws {
        try await withStoreAndBroker(topic: "late") { database, kafka, topic, connection, producer in
            let slow = try await database.connect()
            // The slow transaction takes the lower id but commits after a higher id was published.
            try await slow.run { session in
                try session.runScript("BEGIN")
                try session.query(
                    "INSERT INTO outbox (topic, key, event_id, event_type, payload, dossier) VALUES (\(topic), 'k', 'low', 't', '{}', 'k')"
                )
            }
            try await enqueue("high", topic: topic, on: connection)
            let relay = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            #expect(try await relay.publishPending() == 1)
            try await slow.run { try $0.runScript("COMMIT") }
            #expect(try await relay.publishPending() == 1)
            #expect(Set(try await publishedIDs(kafka, topic: topic, count: 2)) == ["low", "high"])
        }
    }

    @Test func twoRelaysNeverPublishTheSameRow() async throws {
        try await withStoreAndBroker(topic: "fleet", partitions: 2) { database, kafka, topic, connection, producer in
            // 400 records of 7 dossiers, packed as a worker packs them: rows of up to 10 records of one shard.
            try await connection.query(
                """
                INSERT INTO outbox_batch (shard, record_count, topics, keys, event_ids, event_types, payloads, dossiers,
                                          correlation_ids, headers)
                SELECT outbox_shard(d), count(*), array_agg(\(topic)::text ORDER BY n), array_agg(d ORDER BY n),
                       array_agg('e' || n ORDER BY n), array_agg('t'::text ORDER BY n), array_agg('{}'::bytea ORDER BY n),
                       array_agg(d ORDER BY n), array_agg(NULL::text ORDER BY n), array_agg('{}'::jsonb ORDER BY n)
                FROM (SELECT n, 'dossier-' || (n % 7) AS d FROM generate_series(1, 400) AS n) AS records
                GROUP BY outbox_shard(d), n / 10 ORDER BY min(n)
                """)
            let relays = [
                OutboxRelay(
                    connection: try await database.connect(), producer: producer, batchSize: 50, logger: logger),
                OutboxRelay(
                    connection: try await database.connect(), producer: producer, batchSize: 50, logger: logger),
            ]
            let published = try await withThrowingTaskGroup(of: Int.self) { group in
                for relay in relays {
                    group.addTask {
                        var total = 0
                        while true {
                            let count = try await relay.publishPending()
                            if count == 0 { return total }
                            total += count
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(published == 400)
            let ids = try await publishedIDs(kafka, topic: topic, count: 400)
            #expect(ids.count == 400 && Set(ids).count == 400, "each record published exactly once")
            let numbers = ids.compactMap { Int($0.dropFirst()) }
            for dossier in 0..<7 {
                let ofDossier = numbers.filter { $0 % 7 == dossier }
                #expect(ofDossier == ofDossier.sorted(), "dossier-\(dossier)'s records in order")
            }
        }
    }

    @Test func aRoundTakesAtMostHalfTheShardsAndALoneRelayCoversAllInTwo() async throws {
        try await withStoreAndBroker(topic: "halves") { database, kafka, topic, connection, producer in
            try await connection.query(
                """
                INSERT INTO outbox (topic, key, event_id, event_type, payload, dossier)
                SELECT \(topic), 'd-' || n, 'e' || n, 't', '{}', 'd-' || n FROM generate_series(1, 64) AS n
                """)
            func shards(published: Bool) async throws -> Int {
                try await count(
                    "SELECT count(DISTINCT shard) FROM outbox_batch WHERE (published_at IS NOT NULL) = \(published)",
                    on: connection)
            }
            #expect(try await shards(published: false) == OutboxRelay.shardCount, "every shard has rows")
            let relay = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            let first = try await relay.publishPending()
            #expect(try await shards(published: true) == OutboxRelay.shardCount / 2)
            let second = try await relay.publishPending()
            #expect(first + second == 64 && first > 0 && second > 0)
            #expect(try await relay.publishPending() == 0)
        }
    }

    @Test func aCrashBeforeMarkingRepublishesOnlyThoseRowsWithTheSameEventIDs() async throws {
        try await withStoreAndBroker(topic: "crash") { database, kafka, topic, connection, producer in
            try await enqueue("before", topic: topic, on: connection)
            let relay = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            #expect(try await relay.publishPending() == 1)
            try await enqueue("crashed", topic: topic, on: connection)
            #expect(try await relay.publishPending(markingPublished: false) == 0)  // confirmed, never marked
            #expect(try await relay.publishPending() == 1)
            #expect(try await publishedIDs(kafka, topic: topic, count: 3) == ["before", "crashed", "crashed"])
        }
    }

    /// While the broker keeps a round's confirmations waiting, the relay holds its shard locks but no transaction
    /// (an open one would hold back vacuum for up to `message.timeout.ms`); the round releases the locks when done.
    @Test(.enabled(if: !TestKafka.usesRealBrokers, "fault injection needs the embedded broker"))
    func aRoundWaitingForTheBrokerHoldsItsShardLocksButNoTransaction() async throws {
        try await withStoreAndBroker(topic: "waiting") { database, kafka, topic, connection, producer in
            let cluster = try #require(kafka.embedded)
            _ = try await producer.send(KafkaProducerMessage(topic: topic, key: "warm-up", value: "{}"))
            try await enqueue("while-down", topic: topic, on: connection)
            let relayConnection = try await database.connect()
            let relayBackend = try await relayConnection.query("SELECT pg_backend_pid()::int4")[0]
                .decode(Int32.self, at: 0)
            let relay = OutboxRelay(connection: relayConnection, producer: producer, logger: logger)
            for broker: Int32 in 1...3 { try cluster.setBrokerDown(broker) }
            let round = Task { try await relay.publishPending() }

            func shardLocksHeld() async throws -> Int {
                try await count(
                    """
                    SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND classid = \(Int64(OutboxRelay.shardLockClass))::oid
                      AND objsubid = 2 AND pid = \(relayBackend) AND granted
                    """, on: connection)
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await shardLocksHeld() == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(500))  // the round is now waiting for the broker
            #expect(try await shardLocksHeld() == 1, "the round holds its one shard's lock while it waits")
            let session = try await connection.query(
                "SELECT state, xact_start IS NULL FROM pg_stat_activity WHERE pid = \(relayBackend)")[0]
            #expect(try session.decode(String.self, at: 0) == "idle")
            #expect(try session.decode(Bool.self, at: 1), "no transaction open while the broker is down")

            for broker: Int32 in 1...3 { try cluster.setBrokerUp(broker) }
            #expect(try await round.value == 1)
            #expect(try await shardLocksHeld() == 0, "the round released its shard lock")
            #expect(try await publishedIDs(kafka, topic: topic, count: 2) == ["while-down"])  // after the warm-up
        }
    }

    /// A packed row's arrays are parallel: the store refuses one whose arrays differ in length, and a relay that
    /// meets one anyway (the check dropped) names the row and publishes and marks nothing of its round.
    @Test func aRowWhoseArraysDifferInLengthIsRefusedAndNeverHalfPublished() async throws {
        try await withStoreAndBroker(topic: "malformed") { database, kafka, topic, connection, producer in
            @discardableResult
            func insertMalformedRow() async throws -> Int64 {
                try await connection.query(
                    """
                    INSERT INTO outbox_batch (shard, record_count, topics, keys, event_ids, event_types, payloads,
                                              dossiers, correlation_ids, headers)
                    VALUES (0, 2, ARRAY[\(topic), \(topic)], ARRAY['k1', 'k2'], ARRAY['m1', 'm2'], ARRAY['t', 't'],
                            ARRAY['\\x7b7d'::bytea], ARRAY['k1', 'k2'], ARRAY[NULL, NULL]::text[], ARRAY['{}', '{}']::jsonb[])
                    RETURNING id
                    """)[0].decode(Int64.self, at: 0)
            }
            await #expect {
                try await insertMalformedRow()
            } throws: { error in
                (error as? PostgresError)?.sqlState == .checkViolation
            }

            try await connection.query("ALTER TABLE outbox_batch DROP CONSTRAINT outbox_batch_parallel_arrays")
            let row = try await insertMalformedRow()
            let relay = OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger)
            await #expect {
                try await relay.publishPending()
            } throws: { error in
                "\(error)" == "outbox_batch row \(row) has arrays of different lengths"
            }
            #expect(
                try await count("SELECT count(*) FROM outbox_batch WHERE published_at IS NULL", on: connection) == 1)
            #expect(try await publishedIDs(kafka, topic: topic, count: 0).isEmpty)
        }
    }

    @Test func theRelaysOfAProcessWakeOnNotify() async throws {
        try await withStoreAndBroker(topic: "notify") { database, kafka, topic, connection, producer in
            let relays = [
                OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger),
                OutboxRelay(connection: try await database.connect(), producer: producer, logger: logger),
            ]
            let listener = try PostgresNotificationListener(
                configuration: database.configuration, channels: ["lienthong_outbox"], logger: logger)
            let running = Task {
                try await OutboxRelay.run(relays, listener: listener, fallbackInterval: .seconds(600))
            }
            try await Task.sleep(for: .milliseconds(300))
            try await connection.withTransaction { session in
                try session.query(
                    """
                    INSERT INTO outbox (topic, key, event_id, event_type, payload, dossier)
                    SELECT \(topic), 'k' || n, 'woken-' || n, 't', '{}', 'k' || n FROM generate_series(1, 40) AS n
                    """)
                try session.query("SELECT pg_notify('lienthong_outbox', '')")
            }
            // With a 10-minute fallback, only the notification can have woken the relay this soon.
            var pending = 1
            let deadline = ContinuousClock.now + .seconds(15)
            while pending > 0, ContinuousClock.now < deadline {
                pending = try await connection.query("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0]
                    .decode(Int.self, at: 0)
                if pending > 0 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(pending == 0)
            running.cancel()
            await listener.stop()
            let ids = try await publishedIDs(kafka, topic: topic, count: 40)
            #expect(ids.count == 40 && Set(ids) == Set((1...40).map { "woken-\($0)" }), "each record once")
        }
    }
}
