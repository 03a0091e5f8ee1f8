import Foundation
public import LienThongKafka
public import LienThongPostgres
public import Logging
import Synchronization

/// Publishes outbox records to Kafka and marks them published once the broker confirmed them.
///
/// A transaction packs its records into one `outbox_batch` row per shard (a hash of the dossier, ``shardCount``
/// shards). A round takes the advisory locks of the shards no other relay holds, reads their rows not yet
/// published in id order (never by "id greater than the last one seen": a row whose transaction commits late with
/// a lower id is still found), produces their records in order, marks the rows whose records were all confirmed
/// and releases the locks. The shard locks are held throughout, so relays of a fleet never publish the same row at
/// the same time, and one dossier's records are published by one relay at a time, in order (the order the worker's
/// transactions, which lock the dossier, committed them). No row lock is taken: the shard lock already excludes the
/// other relays, and rows are written only once more, by the mark.
///
/// The locks are the session's, not a transaction's: no transaction stays open while the broker confirms, which
/// takes up to `message.timeout.ms` when it is down (an open transaction would hold back vacuum that long, and
/// `idle_in_transaction_session_timeout` would end the session). A lost connection releases them, as a crash does.
/// A crash between the broker's confirmation and the mark publishes the row's records again with the same event
/// ids (the `ce_id` header), which consumers deduplicate.
public final class OutboxRelay: Sendable {
    private let connection: PostgresConnection
    private let producer: KafkaProducer
    private let batchSize: Int
    /// Where the next round starts looking for free shards (it advances by half the shards each round).
    private let nextShard = Atomic<Int32>(0)
    private let logger: Logger
    private let metrics: WorkerMetrics
    private let cache: OutboxRecordCache?
    /// The number of outbox shards (a hash of the dossier code); each is published by one relay at a time.
    public static let shardCount = 16
    /// The most shards one round takes.
    static let shardsPerRound = Int32(shardCount / 2)
    /// The advisory-lock class of the shard locks (`pg_try_advisory_lock(class, shard)`).
    static let shardLockClass: Int32 = 0x4C54_0001

    /// Creates a relay with its own connection (it holds the shard locks on it while producing); a round publishes
    /// the rows that fit in `batchSize` records (at least one row).
    /// - Parameters:
    ///   - batchSize: records per round. Default: 12,000. Each round pays for its queries, its commit and a wait
    ///     for the broker's confirmations; on the 2-core bench machine rounds of 4,000 let the relays fall behind
    ///     the transactions (two workers: 1.4 s), rounds of 12,000 kept up, for ≈50 MB more peak memory per worker.
    ///   - cache: rows this process's workers wrote, published from memory when found there.
    public init(
        connection: PostgresConnection, producer: KafkaProducer, batchSize: Int = 12_000,
        cache: OutboxRecordCache? = nil, metrics: WorkerMetrics = .shared, logger: Logger
    ) {
        self.cache = cache
        self.metrics = metrics
        self.connection = connection
        self.producer = producer
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Publishes up to one round of pending records and returns how many were confirmed and marked.
    @discardableResult
    public func publishPending() async throws -> Int {
        try await publishPending(markingPublished: true)
    }

    /// A round's pending records in publication order: the outbox row each is packed in, and the rows' records as
    /// found (remembered or read back), from which each message is built only when the producer takes it.
    private struct PendingRecords {
        var rows: [Int64] = []
        var shards: [Int32] = []
        var createdAt: [Date] = []
        /// Each row's records, in row order, and the round index of each row's first record.
        var rowRecords: [RowRecords] = []
        var rowStarts: [Int] = []

        var isEmpty: Bool { rows.isEmpty }

        mutating func append(_ records: RowRecords, row: (id: Int64, shard: Int32, createdAt: Date)) {
            rowStarts.append(rows.count)
            rowRecords.append(records)
            rows.append(contentsOf: repeatElement(row.id, count: records.count))
            shards.append(contentsOf: repeatElement(row.shard, count: records.count))
            createdAt.append(contentsOf: repeatElement(row.createdAt, count: records.count))
        }

        /// Queues the round's record `index`.
        func produce(_ index: Int, into writer: inout KafkaRecordWriter) {
            // The last row starting at or before `index` (rows are few: a binary search of their starts).
            var (low, high) = (0, rowStarts.count)
            while high - low > 1 {
                let middle = (low + high) / 2
                if rowStarts[middle] <= index { low = middle } else { high = middle }
            }
            rowRecords[low].produce(index - rowStarts[low], into: &writer)
        }
    }

    /// - Parameter markingPublished: false simulates a crash between the broker's confirmation and the mark.
    @_spi(Testing)
    public func publishPending(markingPublished: Bool) async throws -> Int {
        let limit = Int64(batchSize)
        let records = try await connection.run { session -> PendingRecords in
            do {
                // This process's rows that other relays published since, in any shard, leave the cache first.
                if let cache = self.cache { cache.forget(below: try Self.firstPendingRows(in: session)) }
                // At most half the shards that have pending rows per round, starting where the last round
                // stopped: a second relay of the fleet finds the others free and publishes alongside instead of
                // waiting for this round; a lone relay covers every shard in two rounds. (OFFSET 0 keeps the cheap
                // pending check ahead of the lock, so empty shards are not locked.)
                let round = UInt32(
                    bitPattern: self.nextShard.wrappingAdd(Self.shardsPerRound, ordering: .relaxed).oldValue)
                let start = Int32(round % UInt32(Self.shardCount))
                let shards = try session.query(
                    """
                    SELECT s FROM (SELECT s FROM (SELECT ((\(start) + n) % \(Int32(Self.shardCount)))::int4 AS s
                                                 FROM generate_series(0, \(Int32(Self.shardCount - 1))) AS n) AS rotated
                                   WHERE EXISTS (SELECT 1 FROM outbox_batch WHERE published_at IS NULL AND shard = s)
                                   OFFSET 0) AS pending
                    WHERE pg_try_advisory_lock(\(Self.shardLockClass), s)
                    LIMIT \(Int64(Self.shardsPerRound))
                    """, prepared: true
                ).map { try $0.decode(Int32.self, at: 0) }
                guard !shards.isEmpty else { return PendingRecords() }
                // The rows that fit in `limit` records, in id order (the first one whatever its size).
                let pending = try session.query(
                    """
                    SELECT id, shard::int4, created_at
                    FROM (SELECT id, shard, created_at, sum(record_count) OVER (ORDER BY id) - record_count AS before
                          FROM (SELECT id, shard, created_at, record_count FROM outbox_batch
                                WHERE published_at IS NULL AND shard = ANY(\(shards)::int4[])
                                ORDER BY id LIMIT \(limit)) AS pending) AS b
                    WHERE before < \(limit)
                    ORDER BY id
                    """, prepared: true
                ).map { try $0.decode((Int64, Int32, Date).self) }
                var records = PendingRecords()
                try self.append(pending.map { (id: $0.0, shard: $0.1, createdAt: $0.2) }, to: &records, in: session)
                return records
            } catch {
                Self.releaseShards(in: session)
                throw error
            }
        }
        guard !records.isEmpty else {
            try await connection.run { Self.releaseShards(in: $0) }
            return 0
        }
        let results = await producer.send(count: records.rows.count, records: records.produce)
        // Only rows whose records were all confirmed are marked, and none after an unmarked row of the same shard:
        // those go out again behind it next round (same event ids), so a dossier's records are never seen out of
        // order.
        let markable = Self.markableInOrder(
            rows: records.rows, shards: records.shards,
            confirmed: results.map { result in
                if case .success = result { true } else { false }
            })
        let delivered = records.rows.indices.filter { markable.contains(records.rows[$0]) }
        if delivered.count < records.rows.count {
            logger.warning(
                "outbox records not confirmed", metadata: ["outbox.failed": "\(records.rows.count - delivered.count)"])
        }
        let mark = markingPublished
        try await connection.run { session in
            defer { Self.releaseShards(in: session) }
            if mark && !markable.isEmpty {
                try session.query(
                    """
                    UPDATE outbox_batch SET published_at = now(), attempts = attempts + 1
                    WHERE id = ANY(\(markable.sorted()))
                    """, prepared: true)
            }
        }
        guard mark else { return 0 }
        let now = Date()
        metrics.recordPublished(
            count: delivered.count,
            waits: delivered.map { Duration.seconds(now.timeIntervalSince(records.createdAt[$0])) })
        return delivered.count
    }

    /// Each shard's lowest unpublished row id (nil: none), read from the index of unpublished rows.
    private static func firstPendingRows(in session: PostgresSession) throws -> [Int32: Int64?] {
        var first: [Int32: Int64?] = [:]
        for row in try session.query(
            """
            SELECT s, (SELECT min(id) FROM outbox_batch WHERE published_at IS NULL AND shard = s)
            FROM generate_series(0, \(Int32(shardCount - 1))) AS s
            """, prepared: true)
        {
            first[try row.decode(Int32.self, at: 0)] = .some(try row.decode(Int64?.self, at: 1))
        }
        return first
    }

    /// Releases every shard lock of the round: all of the session's advisory locks, so that one the planner took
    /// for a shard the round did not return (LIMIT stops the scan, not a lock already taken) is released too. A
    /// failure means the connection is lost, and the locks with it.
    private static func releaseShards(in session: PostgresSession) {
        _ = try? session.query("SELECT pg_advisory_unlock_all()")
    }

    /// The outbox rows that may be marked published, given each record's row and shard in publication order and
    /// whether the broker confirmed it: rows whose records were all confirmed, with no row of the same shard
    /// before them in the round left unmarked.
    @_spi(Testing)
    public static func markableInOrder(rows: [Int64], shards: [Int32], confirmed: [Bool]) -> Set<Int64> {
        var failedRows: Set<Int64> = []
        for index in rows.indices where !confirmed[index] { failedRows.insert(rows[index]) }
        var blockedShards: Set<Int32> = []
        var markable: Set<Int64> = []
        for index in rows.indices {
            if failedRows.contains(rows[index]) || blockedShards.contains(shards[index]) {
                blockedShards.insert(shards[index])
            } else {
                markable.insert(rows[index])
            }
        }
        return markable
    }

    /// Appends the records of the pending `outbox_batch` rows (in id order) to the round, row after row: from
    /// memory when this process wrote the row, else read back with its arrays whole.
    private func append(
        _ rows: [(id: Int64, shard: Int32, createdAt: Date)], to round: inout PendingRecords,
        in session: PostgresSession
    ) throws {
        let remembered = cache?.take(rows.map { (id: $0.id, shard: $0.shard) }) ?? [:]
        let missing = rows.map(\.id).filter { remembered[$0] == nil }
        var stored =
            missing.isEmpty
            ? nil
            : try session.query(
                """
                SELECT id, topics, keys, event_ids, event_types, payloads, correlation_ids, headers
                FROM outbox_batch WHERE id = ANY(\(missing)::int8[]) ORDER BY id
                """, prepared: true
            ).makeIterator()
        for row in rows {
            if let records = remembered[row.id] {
                round.append(.remembered(records), row: row)
            } else {
                // Both in id order: the next row read back is this one, unless it is gone, which cannot be (the
                // shard lock keeps other relays off it).
                guard let storedRow = stored?.next(), try storedRow.decode(Int64.self, at: 0) == row.id else {
                    throw OutboxRelayError.missingRow(row.id)
                }
                round.append(.stored(try StoredOutboxRow(storedRow, id: row.id)), row: row)
            }
        }
        metrics.recordOutboxRowsRead(fromMemory: remembered.count, fromTable: missing.count)
    }

    /// Publishes until cancelled: drains the outbox, then sleeps until a `lienthong_outbox` notification or
    /// `fallbackInterval` (notifications are lost while the listener reconnects). A failed round is logged and
    /// retried at the next wake-up.
    public func run(listener: PostgresNotificationListener, fallbackInterval: Duration = .seconds(5)) async throws {
        try await Self.run([self], listener: listener, fallbackInterval: fallbackInterval)
    }

    /// Runs several relays of one process (each with its own connection) from one listener: on every wake-up
    /// each drains the outbox, concurrently; a round takes at most half the shards, so while one waits for the
    /// broker's confirmations another publishes the other shards.
    public static func run(
        _ relays: [OutboxRelay], listener: PostgresNotificationListener, fallbackInterval: Duration = .seconds(5)
    ) async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in listener.events { wake.yield() }
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: fallbackInterval)
                    wake.yield()
                }
            }
            group.addTask {
                wake.yield()
                for await _ in wakeups {
                    await withTaskGroup(of: Void.self) { drains in
                        for relay in relays {
                            drains.addTask { await relay.drain() }
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Looks up the partitions of the topics the relays publish to, so that the first round's records go out at
    /// once instead of waiting up to a second for the producer's own lookup. A topic the cluster does not know is
    /// logged as an error (its records wait in the outbox until it exists); the lookup stops at the first other
    /// failure (no broker answered: the producer looks the topics up itself once one does).
    public static func lookUpTopics(_ topics: [String], producer: KafkaProducer, logger: Logger) async {
        for topic in topics {
            do {
                _ = try await producer.partitionCount(of: topic)
            } catch  where error.librdkafkaName == "UNKNOWN_TOPIC_OR_PART" {
                logger.error(
                    "outbound topic does not exist; its records wait in the outbox",
                    metadata: [KafkaLoggingKeys.topic: "\(topic)"])
            } catch {
                logger.warning(
                    "outbound topics not looked up",
                    metadata: [KafkaLoggingKeys.topic: "\(topic)", KafkaLoggingKeys.error: "\(error)"])
                return
            }
        }
    }

    /// Publishes rounds until one finds nothing; a failure is logged (the next wake-up tries again).
    private func drain() async {
        do {
            while try await publishPending() > 0 {}
        } catch {
            // PostgreSQL or the broker is unavailable: the fallback timer tries again.
            logger.warning("outbox relay failed", metadata: ["outbox.error": "\(error)"])
        }
    }
}

/// One outbox row's records as a relay found them.
private enum RowRecords {
    /// Remembered by this process when its worker wrote the row.
    case remembered(OutboxRowRecords)
    /// Read back from the table.
    case stored(StoredOutboxRow)

    var count: Int {
        switch self {
        case .remembered(let records): records.count
        case .stored(let row): row.topics.count
        }
    }

    /// Queues the row's record `index`.
    func produce(_ index: Int, into writer: inout KafkaRecordWriter) {
        switch self {
        case .remembered(let records): records.produce(index, into: &writer)
        case .stored(let row): row.produce(index, into: &writer)
        }
    }
}

/// The columns of an `outbox_batch` row read back, one array element per record in publication order.
private struct StoredOutboxRow {
    let topics: [String]
    let keys: [String]
    let eventIDs: [String]
    let eventTypes: [String]
    let payloads: [PostgresBytes]
    let correlationIDs: [String?]
    let extraHeaders: [PostgresJSONB]

    /// Decodes the row `id` (its id already checked).
    /// - Throws: ``OutboxRelayError/malformedRow(_:)`` when its arrays differ in length.
    init(_ row: PostgresRow, id: Int64) throws {
        topics = try row.decode([String].self, at: 1)
        keys = try row.decode([String].self, at: 2)
        eventIDs = try row.decode([String].self, at: 3)
        eventTypes = try row.decode([String].self, at: 4)
        payloads = try row.decode([PostgresBytes].self, at: 5)
        correlationIDs = try row.decode([String?].self, at: 6)
        extraHeaders = try row.decode([PostgresJSONB].self, at: 7)
        let counts = [
            keys.count, eventIDs.count, eventTypes.count, payloads.count, correlationIDs.count, extraHeaders.count,
        ]
        guard counts.allSatisfy({ $0 == topics.count }) else { throw OutboxRelayError.malformedRow(id) }
    }

    func produce(_ index: Int, into writer: inout KafkaRecordWriter) {
        OutboxRecord.produce(
            topic: topics[index], key: keys[index], eventID: eventIDs[index], type: eventTypes[index],
            payload: payloads[index].bytes, correlationID: correlationIDs[index],
            extraHeaders: Self.extraHeaders(extraHeaders[index]), into: &writer)
    }

    /// The stored extra headers (a JSON object of strings).
    private static func extraHeaders(_ json: PostgresJSONB) -> [String: String] {
        guard json.utf8.count > 2,
            let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        else { return [:] }
        return object
    }
}

/// Why a relay round failed without publishing.
enum OutboxRelayError: Error, CustomStringConvertible {
    /// An `outbox_batch` row whose arrays differ in length (written by something other than the worker).
    case malformedRow(Int64)
    /// An unpublished `outbox_batch` row that was not there when its records were read (deleted meanwhile).
    case missingRow(Int64)

    var description: String {
        switch self {
        case .malformedRow(let id): "outbox_batch row \(id) has arrays of different lengths"
        case .missingRow(let id): "outbox_batch row \(id) disappeared while the relay read it"
        }
    }
}
