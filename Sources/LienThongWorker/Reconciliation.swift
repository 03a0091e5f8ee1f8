public import LienThongKafka
public import LienThongPostgres

/// Accounts for every inbound offset and every queued publication.
///
/// For each partition, every offset below the end offset must have exactly one inbox row (applied, duplicate of an
/// applied version, rejected, triaged or dead-lettered) unless the record was a re-send of an event id already seen
/// (then the inbox row of the first delivery accounts for it); no event may appear twice in any dossier's history;
/// and every outbox row must be published.
public struct ReconciliationReport: Sendable, Hashable, CustomStringConvertible {
    /// Offsets below the end offsets (`end − start` per partition, summed).
    public var offsets = 0
    /// Offsets with an inbox row, by outcome.
    public var outcomes: [String: Int] = [:]
    /// Offsets without an inbox row (re-sends of a seen event id are among them).
    public var unaccountedOffsets = 0
    /// Of those, records whose event id was seen at another offset (harmless re-sends).
    public var resentOffsets = 0
    /// History rows that repeat an event already in the same dossier's history.
    public var appliedTwice = 0
    /// Outbox rows not yet published.
    public var unpublished = 0
    /// Partitions whose stored position is behind their end offset.
    public var partitionsBehind = 0
    /// Applied status changes (history rows of submissions, receipts and status changes) without their status
    /// event in the outbox.
    public var missingStatusEvents = 0
    /// The first unaccounted offsets, as `topic/partition@offset`, to name what is missing.
    public var missingOffsets: [String] = []

    /// An empty report.
    public init() {}

    /// Offsets neither in the inbox nor explained as re-sends.
    public var lost: Int { unaccountedOffsets - resentOffsets }

    /// Events still held for a version gap (accounted for, but not final).
    public var held: Int { outcomes["held"] ?? 0 }

    /// Whether everything is accounted for and final.
    public var isClean: Bool {
        lost == 0 && appliedTwice == 0 && unpublished == 0 && partitionsBehind == 0 && held == 0
            && missingStatusEvents == 0
    }

    public var description: String {
        let outcomeList = outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "offsets=\(offsets) \(outcomeList) resent=\(resentOffsets) lost=\(lost) applied_twice=\(appliedTwice) "
            + "unpublished=\(unpublished) partitions_behind=\(partitionsBehind) "
            + "missing_status_events=\(missingStatusEvents)"
    }
}

/// Which offsets below each partition's end offset have an inbox row, and the outcomes of those rows: the first
/// half of a reconciliation. Read before the topic, it tells which offsets' event ids the topic scan must keep (only
/// those without a row), so a reconciliation holds one flag per offset rather than every event id of the topic.
public struct RecordedOffsets: Sendable {
    /// Per partition, one flag per offset below its end offset (the array's count is the end offset).
    fileprivate var flags: [KafkaTopicPartition: [Bool]] = [:]
    /// Inbox rows of those partitions by outcome.
    fileprivate var outcomes: [String: Int] = [:]

    /// Whether `offset` of `partition` is outside the reconciled range or has an inbox row.
    public func covers(_ partition: KafkaTopicPartition, _ offset: Int64) -> Bool {
        guard let flags = flags[partition], offset >= 0, offset < flags.count else { return true }
        return flags[Int(offset)]
    }
}

public enum Reconciliation {
    /// Reconciles the store against the inbound topic's end offsets.
    /// - Parameters:
    ///   - endOffsets: the log end offset per partition of the inbound topic.
    ///   - eventIDsByOffset: the event id at each offset, read from the topic, for telling re-sends from losses.
    public static func run(
        consumerGroup: String,
        endOffsets: [KafkaTopicPartition: Int64],
        eventIDsByOffset: [KafkaTopicPartition: [Int64: String]],
        on connection: PostgresConnection
    ) async throws -> ReconciliationReport {
        try await run(
            consumerGroup: consumerGroup, recorded: try await recordedOffsets(below: endOffsets, on: connection),
            eventIDsByOffset: eventIDsByOffset, on: connection)
    }

    /// The first half of a reconciliation: which offsets below `endOffsets` have an inbox row.
    public static func recordedOffsets(
        below endOffsets: [KafkaTopicPartition: Int64], on connection: PostgresConnection
    ) async throws -> RecordedOffsets {
        try await connection.run { session in try InboxScan.recordedOffsets(below: endOffsets, in: session) }
    }

    /// The second half: accounts for the offsets without an inbox row, then checks histories, status events, the
    /// outbox and the stored positions.
    /// - Parameter eventIDsByOffset: the event ids read from the topic; only those of offsets `recorded` does not
    ///   cover are used (for telling re-sends from losses).
    public static func run(
        consumerGroup: String,
        recorded: RecordedOffsets,
        eventIDsByOffset: [KafkaTopicPartition: [Int64: String]],
        on connection: PostgresConnection
    ) async throws -> ReconciliationReport {
        try await connection.run { session in
            var report = ReconciliationReport()
            report.outcomes = recorded.outcomes
            var unaccounted: [(partition: KafkaTopicPartition, offset: Int64, eventID: String?)] = []
            let partitions = recorded.flags.sorted {
                ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition)
            }
            var storedPositions: [KafkaTopicPartition: Int64] = [:]
            for row in try session.query(
                "SELECT topic, partition, next_offset FROM consumer_position WHERE consumer_group = \(consumerGroup)")
            {
                let (topic, partition, next) = try row.decode((String, Int32, Int64).self)
                storedPositions[KafkaTopicPartition(topic: topic, partition: partition)] = next
            }
            for (partition, seen) in partitions {
                let end = Int64(seen.count)
                report.offsets += seen.count
                let ids = eventIDsByOffset[partition] ?? [:]
                for offset in 0..<end where !seen[Int(offset)] {
                    unaccounted.append((partition, offset, ids[offset]))
                }
                if storedPositions[partition] ?? 0 < end { report.partitionsBehind += 1 }
            }
            let inInbox = try InboxScan.storedEventIDs(unaccounted.compactMap(\.eventID), in: session)
            report.unaccountedOffsets = unaccounted.count
            for missing in unaccounted {
                if let id = missing.eventID, inInbox.contains(id) {
                    report.resentOffsets += 1
                } else if report.missingOffsets.count < 20 {
                    report.missingOffsets.append(
                        "\(missing.partition.topic)/\(missing.partition.partition)@\(missing.offset)")
                }
            }
            report.appliedTwice = try session.query(
                "SELECT coalesce(sum(n - 1), 0)::int8 FROM (SELECT count(*) AS n FROM dossier_history GROUP BY dossier, event_id) AS c"
            )[0].decode(Int.self, at: 0)
            report.missingStatusEvents = try session.query(
                """
                SELECT count(*) FROM dossier_history h
                WHERE h.event_type IN ('vn.gov.lienthong.dossier.submitted', 'vn.gov.lienthong.dossier.received',
                                       'vn.gov.lienthong.dossier.status-changed')
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = 'status-' || h.dossier || '-' || h.version)
                """)[0].decode(Int.self, at: 0)
            report.unpublished = try session.query("SELECT records FROM outbox_backlog")[0].decode(Int.self, at: 0)
            return report
        }
    }
}

/// The inbox reads of a reconciliation. The inbox has no index by position (it would cost every batch an index
/// insert per event), so its rows are read in one pass through a cursor, a slice at a time, instead of once per
/// partition.
private enum InboxScan {
    /// Rows fetched from the cursor at a time.
    static let slice = 10_000

    /// For each partition of `endOffsets`, which offsets below its end have an inbox row, and the outcomes of the
    /// rows of those partitions.
    static func recordedOffsets(
        below endOffsets: [KafkaTopicPartition: Int64], in session: PostgresSession
    ) throws -> RecordedOffsets {
        var recorded = RecordedOffsets()
        recorded.flags = endOffsets.mapValues { [Bool](repeating: false, count: Int($0)) }
        let topics = Array(Set(endOffsets.keys.map(\.topic)))
        try session.runScript("BEGIN READ ONLY")
        do {
            try session.query(
                """
                DECLARE reconcile_inbox NO SCROLL CURSOR FOR
                SELECT topic, partition, "offset", outcome FROM inbox WHERE topic = ANY(\(topics))
                """)
            while true {
                let rows = try session.query(PostgresQuery(sql: "FETCH \(slice) FROM reconcile_inbox"))
                for row in rows {
                    let (topic, partition, offset, outcome) = try row.decode((String, Int32, Int64, String).self)
                    let key = KafkaTopicPartition(topic: topic, partition: partition)
                    guard let end = recorded.flags[key]?.count else { continue }
                    recorded.outcomes[outcome, default: 0] += 1
                    if offset >= 0 && offset < end { recorded.flags[key]?[Int(offset)] = true }
                }
                if rows.count < slice { break }
            }
            try session.runScript("COMMIT")
        } catch {
            try? session.runScript("ROLLBACK")
            throw error
        }
        return recorded
    }

    /// The ones among `ids` that the inbox holds (by its primary key, a slice at a time).
    static func storedEventIDs(_ ids: [String], in session: PostgresSession) throws -> Set<String> {
        var stored: Set<String> = []
        var start = ids.startIndex
        while start < ids.endIndex {
            let end = min(start + slice, ids.endIndex)
            for row in try session.query("SELECT event_id FROM inbox WHERE event_id = ANY(\(Array(ids[start..<end])))")
            {
                stored.insert(try row.decode(String.self, at: 0))
            }
            start = end
        }
        return stored
    }
}
