public import Foundation
public import LienThongKafka
public import LienThongPostgres

/// A dead letter as stored in the outbox: where it came from, why, and the original bytes.
public struct StoredDeadLetter: Sendable, Hashable {
    /// The outbox event id, `dlq-<topic>-<partition>-<offset>`: what `dlq show` and `dlq replay` take.
    public var id: String
    public var originalTopic: String
    public var originalPartition: Int32
    public var originalOffset: Int64
    public var errorClass: String
    public var reason: String
    public var workerID: String
    public var failedAt: Date
    /// Whether the relay published it to the dead-letter topic.
    public var isPublished: Bool
    /// The original key and value bytes.
    public var key: [UInt8]?
    public var value: [UInt8]?
    /// When it was re-published, if ever (the latest time).
    public var replayedAt: Date?
}

/// Reads dead letters and re-publishes chosen ones to the inbound topic after a fix, recording each replay.
///
/// A replayed record is the original key and value with a `lienthong_replay_of` header; the worker evaluates it
/// again (an event id whose earlier outcome was rejected or dead-lettered is not a duplicate), and reconciliation
/// counts the original offset as re-sent.
public struct DeadLetterReplay: Sendable {
    /// Which dead letters to select.
    public struct Selection: Sendable {
        /// Specific dead-letter ids; empty: any.
        public var ids: [String] = []
        /// Only this error class (`unknown_reference`, `invalid_transition`, …).
        public var errorClass: String?
        /// Only this reason.
        public var reason: String?
        /// Include dead letters replayed before.
        public var includeReplayed = false
        /// At most this many, oldest first.
        public var limit = 100

        public init() {}
    }

    private let connection: PostgresConnection

    /// Creates the replayer over `connection`.
    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// The dead letters matching `selection`, oldest first.
    public func select(_ selection: Selection) async throws -> [StoredDeadLetter] {
        let rows = try await connection.query(
            """
            SELECT o.event_id, outbox_json(o.payload)->>'originalTopic', (outbox_json(o.payload)->>'originalPartition')::int4,
                   (outbox_json(o.payload)->>'originalOffset')::int8, outbox_json(o.payload)->>'errorClass', outbox_json(o.payload)->>'reason',
                   coalesce(outbox_json(o.payload)->>'workerId', ''), o.created_at, o.published_at IS NOT NULL,
                   outbox_json(o.payload)->>'key', outbox_json(o.payload)->>'value',
                   (SELECT max(r.replayed_at) FROM dead_letter_replay r WHERE r.dead_letter_id = o.event_id)
            FROM outbox o
            WHERE o.event_type = 'vn.gov.lienthong.dead-letter'
              AND (cardinality(\(selection.ids)::text[]) = 0 OR o.event_id = ANY(\(selection.ids)::text[]))
              AND (\(selection.errorClass)::text IS NULL OR outbox_json(o.payload)->>'errorClass' = \(selection.errorClass))
              AND (\(selection.reason)::text IS NULL OR outbox_json(o.payload)->>'reason' = \(selection.reason))
              AND (\(selection.includeReplayed)
                   OR NOT EXISTS (SELECT 1 FROM dead_letter_replay r WHERE r.dead_letter_id = o.event_id))
            ORDER BY o.batch_id, o.ordinal LIMIT \(Int64(selection.limit))
            """)
        return try rows.map { row in
            StoredDeadLetter(
                id: try row.decode(String.self, at: 0), originalTopic: try row.decode(String.self, at: 1),
                originalPartition: try row.decode(Int32.self, at: 2), originalOffset: try row.decode(Int64.self, at: 3),
                errorClass: try row.decode(String.self, at: 4), reason: try row.decode(String.self, at: 5),
                workerID: try row.decode(String.self, at: 6), failedAt: try row.decode(Date.self, at: 7),
                isPublished: try row.decode(Bool.self, at: 8),
                key: try row.decode(String?.self, at: 9).flatMap { Data(base64Encoded: $0) }.map { Array($0) },
                value: try row.decode(String?.self, at: 10).flatMap { Data(base64Encoded: $0) }.map { Array($0) },
                replayedAt: try row.decode(Date?.self, at: 11))
        }
    }

    /// Re-publishes `letters` to `topic` and records each confirmed one (who, why, where it landed).
    /// - Returns: the delivery of each letter, in order; a failed one is not recorded and can be replayed again.
    public func replay(
        _ letters: [StoredDeadLetter], to topic: String, producer: KafkaProducer, by operatorName: String,
        note: String?
    ) async throws -> [Result<KafkaDeliveryReport, KafkaError>] {
        let messages = letters.map { letter in
            KafkaProducerMessage(
                topic: topic, key: letter.key, value: letter.value,
                headers: [KafkaHeader(name: "lienthong_replay_of", string: letter.id)])
        }
        let results = await producer.send(messages)
        let confirmed = zip(letters, results).compactMap { letter, result in
            (try? result.get()).map { (letter.id, $0) }
        }
        if !confirmed.isEmpty {
            try await connection.query(
                """
                INSERT INTO dead_letter_replay (dead_letter_id, replayed_by, note, topic, partition, "offset")
                SELECT * FROM unnest(\(confirmed.map(\.0))::text[], \(Array(repeating: operatorName, count: confirmed.count))::text[],
                                     \(Array(repeating: note, count: confirmed.count))::text[],
                                     \(confirmed.map(\.1.topicPartition.topic))::text[],
                                     \(confirmed.map(\.1.topicPartition.partition))::int4[],
                                     \(confirmed.map(\.1.offset))::int8[])
                """)
        }
        return results
    }
}
