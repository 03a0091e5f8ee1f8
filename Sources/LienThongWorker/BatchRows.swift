import Foundation
import LienThongDomain
import LienThongPostgres

/// History rows gathered for one multi-row insert.
struct HistoryRows {
    var records: [AuditRecord] = []
    var previousHashes: [[UInt8]] = []
    var hashes: [[UInt8]] = []

    mutating func append(_ record: AuditRecord, previous: [UInt8], hash: [UInt8]) {
        records.append(record)
        previousHashes.append(previous)
        hashes.append(hash)
    }

    /// Inserts the rows in one statement, the arrays unnested in step in the select list (streamed, not stored
    /// first in a tuple store as `FROM unnest(a, b, …)` would be).
    func insert(in session: PostgresSession) throws {
        guard !records.isEmpty else { return }
        try session.query(
            """
            INSERT INTO dossier_history (dossier, sequence, version, event_id, event_type, status, occurred_at_ms,
                                         payload_sha256, prev_hash, hash)
            SELECT unnest(\(column(.dossier, of: String.self))::text[]),
                   unnest(\(column(.sequence, of: Int64.self))::int8[]),
                   unnest(\(column(.version, of: Int64.self))::int8[]),
                   unnest(\(column(.eventID, of: String.self))::text[]),
                   unnest(\(column(.eventType, of: String.self))::text[]),
                   unnest(\(column(.status, of: Int32.self))::int2[]),
                   unnest(\(column(.occurredAt, of: Int64.self))::int8[]),
                   unnest(\(column(.payloadDigest, of: PostgresBytes.self))::bytea[]),
                   unnest(\(column(.previousHash, of: PostgresBytes.self))::bytea[]),
                   unnest(\(column(.hash, of: PostgresBytes.self))::bytea[])
            """, prepared: true)
    }
}

/// The history rows sent column by column, each value read and written in place.
extension HistoryRows: PostgresColumnarRows {
    /// A history column: the hashes are written as `bytea` (`PostgresBytes`), the status as `int4` (`Int32`), the
    /// numbers as `int8` (`Int64`), the others as `text` (`String`).
    enum Column {
        case dossier, sequence, version, eventID, eventType, status, occurredAt, payloadDigest, previousHash, hash
    }

    var rowCount: Int { records.count }

    func encodedSize(of column: Column, row: Int) -> Int? {
        switch column {
        case .dossier: records[row].dossier.utf8.count
        case .sequence, .version, .occurredAt: Int64.zero.postgresEncodedSize
        case .eventID: records[row].eventID.utf8.count
        case .eventType: records[row].eventType.utf8.count
        case .status: Int32.zero.postgresEncodedSize
        case .payloadDigest: records[row].payloadDigest.count
        case .previousHash: previousHashes[row].count
        case .hash: hashes[row].count
        }
    }

    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter) {
        switch column {
        case .dossier: records[row].dossier.encode(into: &writer)
        case .sequence: records[row].sequence.encode(into: &writer)
        case .version: records[row].version.encode(into: &writer)
        case .eventID: records[row].eventID.encode(into: &writer)
        case .eventType: records[row].eventType.encode(into: &writer)
        case .status: Int32(records[row].status).encode(into: &writer)
        case .occurredAt: records[row].occurredAtMilliseconds.encode(into: &writer)
        case .payloadDigest: writer.write(contentsOf: records[row].payloadDigest)  // a bytea's binary form: the bytes
        case .previousHash: writer.write(contentsOf: previousHashes[row])
        case .hash: writer.write(contentsOf: hashes[row])
        }
    }
}

/// Outbox records gathered for one insert, packed one row per shard, with a wake-up for the relays.
struct OutboxRows {
    private(set) var records: [OutboxRecord] = []

    mutating func append(_ record: OutboxRecord) {
        records.append(record)
    }

    /// Inserts the records, one `outbox_batch` row per shard holding that shard's records in order, and notifies
    /// the relays. The shards come from `outbox_shard()`, their one definition; the records are grouped by shard
    /// here, so PostgreSQL stores slices of the arrays as sent instead of unnesting, sorting and aggregating every
    /// record again (which cost it about seven times as much).
    ///
    /// The cache keeps each row as positions in the transaction's one array of records, which no row copies.
    ///
    /// - Parameter cache: where to remember each row's records for this process's relays (nil: nowhere).
    func insert(in session: PostgresSession, remembering cache: OutboxRecordCache? = nil) throws {
        guard !records.isEmpty else { return }
        // Each dossier once, and each record's dossier by position, so that every code is hashed once.
        var dossiers: [String] = []
        var dossierOfRecord: [Int] = []
        dossierOfRecord.reserveCapacity(records.count)
        var positions: [String: Int] = [:]
        positions.reserveCapacity(records.count)
        for index in records.indices {
            let dossier = records[index].dossier  // the field alone: a whole record would be copied, every field
            let position = positions[dossier, default: dossiers.count]
            if position == dossiers.count {
                positions[dossier] = position
                dossiers.append(dossier)
            }
            dossierOfRecord.append(position)
        }
        let shardOfDossier = try session.query(
            "SELECT outbox_shard(d)::int4 FROM unnest(\(dossiers)::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n",
            prepared: true
        ).map { try $0.decode(Int32.self, at: 0) }
        var byShard: [Int32: [Int]] = [:]
        for index in records.indices {
            byShard[shardOfDossier[dossierOfRecord[index]], default: []].append(index)
        }
        // Each shard's records, in the order they were queued, one shard after the other; a row is a slice.
        var order: [Int] = []
        order.reserveCapacity(records.count)
        var rows: (shards: [Int32], first: [Int32], last: [Int32]) = ([], [], [])
        for shard in byShard.keys.sorted() {
            rows.shards.append(shard)
            rows.first.append(Int32(order.count + 1))
            order += byShard[shard]!
            rows.last.append(Int32(order.count))
        }
        let inOrder = OutboxRecordsInOrder(records: records, order: order)
        let inserted = try session.query(
            """
            INSERT INTO outbox_batch (shard, record_count, topics, keys, event_ids, event_types, payloads, dossiers,
                                      correlation_ids, headers)
            SELECT s::int2, l - f + 1, t[f:l], k[f:l], i[f:l], y[f:l], p[f:l], d[f:l], c[f:l], h[f:l]
            FROM unnest(\(rows.shards)::int4[], \(rows.first)::int4[], \(rows.last)::int4[]) AS r(s, f, l)
            CROSS JOIN (SELECT \(inOrder.column(.topic, of: String.self))::text[],
                               \(inOrder.column(.key, of: String.self))::text[],
                               \(inOrder.column(.eventID, of: String.self))::text[],
                               \(inOrder.column(.type, of: String.self))::text[],
                               \(inOrder.column(.payload, of: PostgresBytes.self))::bytea[],
                               \(inOrder.column(.dossier, of: String.self))::text[],
                               \(inOrder.column(.correlationID, of: String.self))::text[],
                               \(inOrder.column(.headers, of: PostgresJSONB.self))::jsonb[])
                 AS a(t, k, i, y, p, d, c, h)
            ORDER BY s
            RETURNING id, shard::int4
            """, prepared: true)
        if let cache {
            let remembered = try inserted.compactMap { row -> (id: Int64, shard: Int32, records: OutboxRowRecords)? in
                let (id, shard) = try row.decode((Int64, Int32).self)
                guard let slot = rows.shards.firstIndex(of: shard) else { return nil }
                let positions = order[Int(rows.first[slot] - 1)..<Int(rows.last[slot])]
                return (id, shard, OutboxRowRecords(records, positions: positions))
            }
            cache.remember(remembered)
        }
        try session.query("SELECT pg_notify('lienthong_outbox', '')")
    }
}

/// The records of one outbox insert in shard order, sent column by column: each field is read and written in place,
/// not retained.
private struct OutboxRecordsInOrder: PostgresColumnarRows {
    /// A record field: `payload` is written as `bytea` (`PostgresBytes`), `headers` as `jsonb` (`PostgresJSONB`),
    /// the others as `text` (`String`).
    enum Column {
        case topic, key, eventID, type, payload, dossier, correlationID, headers
    }

    let records: [OutboxRecord]
    let order: [Int]

    var rowCount: Int { order.count }

    func encodedSize(of column: Column, row: Int) -> Int? {
        let index = order[row]
        return switch column {
        case .topic: records[index].topic.utf8.count
        case .key: records[index].key.utf8.count
        case .eventID: records[index].eventID.utf8.count
        case .type: records[index].type.utf8.count
        case .payload: records[index].payload.count
        case .dossier: records[index].dossier.utf8.count
        case .correlationID: records[index].correlationID?.utf8.count
        case .headers:
            records[index].headers.isEmpty
                ? OutboxRecord.noExtraHeaders.postgresEncodedSize
                : OutboxRecord.extraHeadersJSON(records[index].headers).postgresEncodedSize
        }
    }

    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter) {
        let index = order[row]
        switch column {
        case .topic: records[index].topic.encode(into: &writer)
        case .key: records[index].key.encode(into: &writer)
        case .eventID: records[index].eventID.encode(into: &writer)
        case .type: records[index].type.encode(into: &writer)
        case .payload: writer.write(contentsOf: records[index].payload)  // a bytea's binary form: the bytes
        case .dossier: records[index].dossier.encode(into: &writer)
        case .correlationID: records[index].correlationID?.encode(into: &writer)
        case .headers:
            if records[index].headers.isEmpty {
                OutboxRecord.noExtraHeaders.encode(into: &writer)
            } else {
                OutboxRecord.extraHeadersJSON(records[index].headers).encode(into: &writer)
            }
        }
    }
}

extension OutboxRecord {
    /// Extra headers as a JSON object, the outbox's `headers` column (built twice, for the size and the bytes, by
    /// the few records that have any: dead letters).
    fileprivate static func extraHeadersJSON(_ headers: [String]) -> PostgresJSONB {
        var json = JSONWriter(capacity: 16)
        for (name, value) in headerPairs(headers) { json.field(named: name, value) }
        return PostgresJSONB(utf8: json.finish())
    }

    /// The `headers` column of a record without extra headers.
    fileprivate static let noExtraHeaders = PostgresJSONB(utf8: Array("{}".utf8))
}

/// Inbox rows gathered for one multi-row insert, and outcomes of held events decided later.
struct InboxRows {
    var ids: [String] = []
    var topics: [String] = []
    var partitions: [Int32] = []
    var offsets: [Int64] = []
    var outcomes: [String] = []
    var reasons: [String?] = []
    var consumedAt: [Date?] = []
    /// Held events (already in the inbox as `held`) and what became of them.
    var updates: [(id: String, outcome: String, reason: String?)] = []

    mutating func append(_ consumed: ConsumedEvent, outcome: String, reason: String?) {
        append(
            id: consumed.event.id, topic: consumed.topic, partition: consumed.partition, offset: consumed.offset,
            outcome: outcome, reason: reason, consumedAt: consumed.consumedAt)
    }

    mutating func append(
        id: String, topic: String, partition: Int32, offset: Int64, outcome: String, reason: String?,
        consumedAt: Date?
    ) {
        ids.append(id)
        topics.append(topic)
        partitions.append(partition)
        offsets.append(offset)
        outcomes.append(outcome)
        reasons.append(reason)
        self.consumedAt.append(consumedAt)
    }

    /// Inserts the rows; rows whose event id is in `replacing` (stored earlier as rejected or dead-lettered, and
    /// decided again) overwrite the stored row instead. A plain insert costs PostgreSQL a quarter less than an
    /// upsert; should another transaction insert one of the ids meanwhile, the unique violation makes the worker
    /// write the batch again, and the second attempt finds the id handled.
    func insert(in session: PostgresSession, replacing: Set<String> = []) throws {
        if replacing.isEmpty {
            try insertNew(in: session)
        } else {
            let (stored, new) = ids.indices.reduce(into: ([Int](), [Int]())) { split, index in
                if replacing.contains(ids[index]) { split.0.append(index) } else { split.1.append(index) }
            }
            try subset(new).insertNew(in: session)
            try subset(stored).overwrite(in: session)
        }
        if !updates.isEmpty {
            try session.query(
                """
                UPDATE inbox SET outcome = u.o, reason = u.r
                FROM unnest(\(updates.map(\.id))::text[], \(updates.map(\.outcome))::text[], \(updates.map(\.reason))::text[])
                    AS u(i, o, r)
                WHERE inbox.event_id = u.i
                """, prepared: true)
        }
    }

    private func subset(_ indices: [Int]) -> InboxRows {
        var rows = InboxRows()
        for index in indices {
            rows.append(
                id: ids[index], topic: topics[index], partition: partitions[index], offset: offsets[index],
                outcome: outcomes[index], reason: reasons[index], consumedAt: consumedAt[index])
        }
        return rows
    }

    private func insertNew(in session: PostgresSession) throws {
        guard !ids.isEmpty else { return }
        try session.query(
            """
            INSERT INTO inbox (event_id, topic, partition, "offset", outcome, reason, consumed_at)
            SELECT unnest(\(ids)::text[]), unnest(\(topics)::text[]), unnest(\(partitions)::int4[]),
                   unnest(\(offsets)::int8[]), unnest(\(outcomes)::text[]), unnest(\(reasons)::text[]),
                   unnest(\(consumedAt)::timestamptz[])
            """, prepared: true)
    }

    private func overwrite(in session: PostgresSession) throws {
        guard !ids.isEmpty else { return }
        try session.query(
            """
            UPDATE inbox SET topic = u.t, partition = u.p, "offset" = u.o, outcome = u.oc, reason = u.r, received_at = now(),
                             consumed_at = u.c
            FROM unnest(\(ids)::text[], \(topics)::text[], \(partitions)::int4[], \(offsets)::int8[],
                        \(outcomes)::text[], \(reasons)::text[], \(consumedAt)::timestamptz[]) AS u(i, t, p, o, oc, r, c)
            WHERE inbox.event_id = u.i AND inbox.outcome IN ('rejected', 'dead_lettered')
            """, prepared: true)
    }
}

/// An event waiting for the versions before it.
struct HeldEvent {
    var consumed: ConsumedEvent
    /// Whether it is already stored in `held_event` (held by an earlier batch).
    var isStored: Bool
}

/// Held events to store, and stored ones released or triaged.
struct HeldRows {
    var new: [ConsumedEvent] = []
    var removed: [String] = []

    func write(in session: PostgresSession) throws {
        if !new.isEmpty {
            try session.query(
                """
                INSERT INTO held_event (event_id, dossier, version, topic, partition, "offset", key, value)
                SELECT * FROM unnest(\(new.map(\.event.id))::text[], \(new.map(\.event.subject.rawValue))::text[],
                                     \(new.map { $0.event.dossierVersion ?? 0 })::int8[], \(new.map(\.topic))::text[],
                                     \(new.map(\.partition))::int4[], \(new.map(\.offset))::int8[],
                                     \(new.map { $0.key.map(PostgresBytes.init) })::bytea[],
                                     \(new.map { PostgresBytes($0.bytes) })::bytea[])
                """, prepared: true)
        }
        if !removed.isEmpty {
            try session.query("DELETE FROM held_event WHERE event_id = ANY(\(removed))", prepared: true)
        }
    }

    /// Loads and locks the held events of the batch's dossiers (rows a sweeper is triaging are waited for, then
    /// skipped as gone).
    static func load(
        _ codes: Set<String>, decoder: InboundEventDecoder, in session: PostgresSession
    ) throws -> [String: [Int64: HeldEvent]] {
        let rows = try session.query(
            """
            SELECT topic, partition, "offset", key, value FROM held_event
            WHERE dossier = ANY(\(Array(codes))) ORDER BY event_id FOR UPDATE
            """, prepared: true)
        var held: [String: [Int64: HeldEvent]] = [:]
        for row in rows {
            let (topic, partition, offset) = try row.decode((String, Int32, Int64).self)
            let key = try row.decode(PostgresBytes?.self, at: 3)?.bytes
            let value = try row.decode(PostgresBytes.self, at: 4).bytes
            // Held events were decoded once already; the decoder is deterministic.
            guard case .success(let event) = decoder.decode(value), let version = event.dossierVersion else { continue }
            let consumed = ConsumedEvent(
                topic: topic, partition: partition, offset: offset, key: key, bytes: value, event: event)
            held[event.subject.rawValue, default: [:]][version] = HeldEvent(consumed: consumed, isStored: true)
        }
        return held
    }
}

/// Dossiers queued for a person to route.
struct TriageRows {
    var dossiers: [String] = []
    var eventIDs: [String] = []
    var reasons: [String] = []
    var candidates: [String] = []

    mutating func append(dossier: String, eventID: String, reason: String, candidates: [String]) {
        dossiers.append(dossier)
        eventIDs.append(eventID)
        reasons.append(reason)
        self.candidates.append(candidates.joined(separator: ","))
    }

    /// One open triage entry per dossier and reason; a second is not added.
    func insert(in session: PostgresSession) throws {
        guard !dossiers.isEmpty else { return }
        try session.query(
            """
            INSERT INTO triage (dossier, event_id, reason, candidates)
            SELECT d, e, r, COALESCE(string_to_array(NULLIF(c, ''), ','), '{}')
            FROM unnest(\(dossiers)::text[], \(eventIDs)::text[], \(reasons)::text[], \(candidates)::text[]) AS u(d, e, r, c)
            ON CONFLICT DO NOTHING
            """, prepared: true)
    }
}
