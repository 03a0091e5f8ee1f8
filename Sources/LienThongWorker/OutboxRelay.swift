import Foundation
public import LienThongKafka
public import LienThongPostgres
public import Logging

/// Publishes outbox rows to Kafka and marks them published once the broker confirmed them.
///
/// Rows belong to one of ``shardCount`` shards by a hash of their dossier. A round takes the transaction advisory
/// locks of the shards no other relay holds, reads their rows not yet published in id order (never by "id greater
/// than the last one seen": a row whose transaction commits late with a lower id is still found), produces them
/// and marks the confirmed ones before its transaction ends. The shard locks are held throughout, so relays of a
/// fleet never publish the same row at the same time, and one dossier's records are published by one relay at a
/// time, in id order (the order the worker's transactions, which lock the dossier, committed them). No row lock is
/// taken: the shard lock already excludes the other relays, and rows are written only once more, by the mark. A crash between the broker's confirmation and the mark publishes
/// the row again with the same event id (the `ce_id` header), which consumers deduplicate.
public final class OutboxRelay: Sendable {
    private let connection: PostgresConnection
    private let producer: KafkaProducer
    private let batchSize: Int
    private let logger: Logger
    private let metrics: WorkerMetrics
    /// The number of outbox shards (a hash of the dossier code); each is published by one relay at a time.
    public static let shardCount = 16
    /// The advisory-lock class of the shard locks (`pg_try_advisory_xact_lock(class, shard)`).
    static let shardLockClass: Int32 = 0x4C54_0001

    /// Creates a relay with its own connection (it holds a transaction open while producing).
    public init(
        connection: PostgresConnection, producer: KafkaProducer, batchSize: Int = 4000,
        metrics: WorkerMetrics = .shared, logger: Logger
    ) {
        self.metrics = metrics
        self.connection = connection
        self.producer = producer
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Publishes up to one batch of pending rows and returns how many were confirmed and marked.
    @discardableResult
    public func publishPending() async throws -> Int {
        try await publishPending(markingPublished: true)
    }

    /// - Parameter markingPublished: false simulates a crash between the broker's confirmation and the mark.
    @_spi(Testing)
    public func publishPending(markingPublished: Bool) async throws -> Int {
        let limit = batchSize
        let rows = try await connection.run { session -> [(Int64, KafkaProducerMessage, Date, String)] in
            try session.runScript("BEGIN")
            do {
                let shards = try session.query(
                    """
                    SELECT s::int4 FROM generate_series(0, \(Int32(Self.shardCount - 1))) AS s
                    WHERE pg_try_advisory_xact_lock(\(Self.shardLockClass), s)
                    """, prepared: true
                ).map { try $0.decode(Int32.self, at: 0) }
                guard !shards.isEmpty else { return [] }
                return try session.query(
                    """
                    SELECT id, topic, key, event_id, event_type, payload, correlation_id, headers, created_at, dossier FROM outbox
                    WHERE published_at IS NULL AND shard = ANY(\(shards)::int4[])
                    ORDER BY id LIMIT \(Int64(limit))
                    """, prepared: true
                ).map { row in
                    let (id, topic, key, eventID, eventType) = try row.decode(
                        (Int64, String, String, String, String).self)
                    let payload = try row.decode(PostgresBytes.self, at: 5)
                    var headers = [
                        KafkaHeader(name: "ce_id", string: eventID), KafkaHeader(name: "ce_type", string: eventType),
                        KafkaHeader(name: "ce_source", string: "/lienthong"),
                    ]
                    if let correlation = try row.decode(String?.self, at: 6) {
                        headers.append(KafkaHeader(name: "correlation_id", string: correlation))
                    }
                    headers += Self.extraHeaders(try row.decode(PostgresJSONB.self, at: 7))
                    return (
                        id,
                        KafkaProducerMessage(
                            topic: topic, key: Array(key.utf8), value: payload.bytes, headers: headers),
                        try row.decode(Date.self, at: 8),
                        try row.decode(String.self, at: 9)
                    )
                }
            } catch {
                try? session.runScript("ROLLBACK")
                throw error
            }
        }
        guard !rows.isEmpty else {
            try await connection.run { try $0.runScript("COMMIT") }
            return 0
        }
        let results = await producer.send(rows.map(\.1))
        // Only confirmed records are marked, and none after an unconfirmed one of the same dossier: those go out
        // again behind it next round (same event ids), so a dossier's records are never seen out of order.
        let markable = Self.markableInOrder(
            dossiers: rows.map(\.3), confirmed: results.map { (try? $0.get()) != nil })
        let delivered = markable.map { rows[$0].0 }
        if delivered.count < rows.count {
            logger.warning(
                "outbox records not confirmed", metadata: ["outbox.failed": "\(rows.count - delivered.count)"])
        }
        let mark = markingPublished
        try await connection.run { session in
            do {
                if mark && !delivered.isEmpty {
                    try session.query(
                        "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY(\(delivered))",
                        prepared: true)
                    try session.runScript("COMMIT")
                } else {
                    try session.runScript("ROLLBACK")
                }
            } catch {
                try? session.runScript("ROLLBACK")
                throw error
            }
        }
        if mark {
            let now = Date()
            let waits = markable.map { Duration.seconds(now.timeIntervalSince(rows[$0].2)) }
            metrics.recordPublished(count: delivered.count, waits: waits)
        }
        return mark ? delivered.count : 0
    }

    /// The indexes of the rows that may be marked published: confirmed, with no unconfirmed row of the same
    /// dossier before them in the round.
    @_spi(Testing)
    public static func markableInOrder(dossiers: [String], confirmed: [Bool]) -> [Int] {
        var blocked: Set<String> = []
        var markable: [Int] = []
        for (index, dossier) in dossiers.enumerated() {
            if confirmed[index] && !blocked.contains(dossier) {
                markable.append(index)
            } else {
                blocked.insert(dossier)
            }
        }
        return markable
    }

    /// The stored extra headers (a JSON object of strings), sorted by name.
    private static func extraHeaders(_ json: PostgresJSONB) -> [KafkaHeader] {
        guard json.utf8.count > 2,
            let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        else { return [] }
        return object.sorted { $0.key < $1.key }.map { KafkaHeader(name: $0.key, string: $0.value) }
    }

    /// Publishes until cancelled: drains the outbox, then sleeps until a `lienthong_outbox` notification or
    /// `fallbackInterval` (notifications are lost while the listener reconnects). A failed round is logged and
    /// retried at the next wake-up.
    public func run(listener: PostgresNotificationListener, fallbackInterval: Duration = .seconds(5)) async throws {
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
                    do {
                        while try await self.publishPending() > 0 {}
                    } catch {
                        // PostgreSQL or the broker is unavailable: the fallback timer tries again.
                        self.logger.warning("outbox relay failed", metadata: ["outbox.error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
