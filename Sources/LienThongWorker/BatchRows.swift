import Foundation
import LienThongDomain
import LienThongPostgres

/// History rows gathered for one multi-row insert.
struct HistoryRows {
    var records: [AuditRecord] = []
    var previous: [PostgresBytes] = []
    var hashes: [PostgresBytes] = []

    mutating func append(_ record: AuditRecord, previous: [UInt8], hash: [UInt8]) {
        records.append(record)
        self.previous.append(PostgresBytes(previous))
        hashes.append(PostgresBytes(hash))
    }

    /// Inserts the rows in one statement, the arrays unnested in step in the select list (streamed, not stored
    /// first in a tuple store as `FROM unnest(a, b, …)` would be).
    func insert(in session: PostgresSession) throws {
        guard !records.isEmpty else { return }
        try session.query(
            """
            INSERT INTO dossier_history (dossier, sequence, version, event_id, event_type, status, occurred_at_ms,
                                         payload_sha256, prev_hash, hash)
            SELECT unnest(\(records.map(\.dossier))::text[]), unnest(\(records.map(\.sequence))::int8[]),
                   unnest(\(records.map(\.version))::int8[]), unnest(\(records.map(\.eventID))::text[]),
                   unnest(\(records.map(\.eventType))::text[]), unnest(\(records.map { Int32($0.status) })::int2[]),
                   unnest(\(records.map(\.occurredAtMilliseconds))::int8[]),
                   unnest(\(records.map { PostgresBytes($0.payloadDigest) })::bytea[]), unnest(\(previous)::bytea[]),
                   unnest(\(hashes)::bytea[])
            """, prepared: true)
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
        func column<Element>(_ field: OutboxColumn<Element>.Field, of _: Element.Type) -> OutboxColumn<Element> {
            OutboxColumn(records: records, order: order, field: field)
        }
        let inserted = try session.query(
            """
            INSERT INTO outbox_batch (shard, record_count, topics, keys, event_ids, event_types, payloads, dossiers,
                                      correlation_ids, headers)
            SELECT s::int2, l - f + 1, t[f:l], k[f:l], i[f:l], y[f:l], p[f:l], d[f:l], c[f:l], h[f:l]
            FROM unnest(\(rows.shards)::int4[], \(rows.first)::int4[], \(rows.last)::int4[]) AS r(s, f, l)
            CROSS JOIN (SELECT \(column(.topic, of: String.self))::text[], \(column(.key, of: String.self))::text[],
                               \(column(.eventID, of: String.self))::text[], \(column(.type, of: String.self))::text[],
                               \(column(.payload, of: PostgresBytes.self))::bytea[],
                               \(column(.dossier, of: String.self))::text[],
                               \(column(.correlationID, of: String.self))::text[],
                               \(column(.headers, of: PostgresJSONB.self))::jsonb[])
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

/// One column of the outbox insert as an array parameter, read field by field from the records in `order` while
/// the query encodes it. Gathering each column into an array first retained every string, then released it; read
/// and written in place here, the fields are not retained at all.
private struct OutboxColumn<Element: PostgresArrayElement>: PostgresEncodable {
    /// The record field the column holds: `payload` is a `bytea[]` (`Element` `PostgresBytes`), `headers` a
    /// `jsonb[]` (`PostgresJSONB`), the others `text[]` (`String`).
    enum Field {
        case topic, key, eventID, type, payload, dossier, correlationID, headers
    }

    let records: [OutboxRecord]
    let order: [Int]
    let field: Field

    static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }

    var postgresEncodedSize: Int {
        var size = PostgresBinaryWriter.arrayHeaderSize(count: order.count) + 4 * order.count
        for index in order {
            switch field {
            case .topic: size += records[index].topic.utf8.count
            case .key: size += records[index].key.utf8.count
            case .eventID: size += records[index].eventID.utf8.count
            case .type: size += records[index].type.utf8.count
            case .payload: size += records[index].payload.count
            case .dossier: size += records[index].dossier.utf8.count
            case .correlationID: size += records[index].correlationID?.utf8.count ?? 0
            case .headers:
                size +=
                    records[index].headers.isEmpty
                    ? OutboxRecord.noExtraHeaders.postgresEncodedSize
                    : OutboxRecord.extraHeaders(records[index].headers).postgresEncodedSize
            }
        }
        return size
    }

    func encode(into writer: inout PostgresBinaryWriter) {
        var hasNulls = false
        if field == .correlationID {
            for index in order where records[index].correlationID == nil { hasNulls = true }
        }
        writer.writeArrayHeader(of: Element.self, count: order.count, hasNulls: hasNulls)
        let noExtraHeaders = OutboxRecord.noExtraHeaders
        for index in order {
            switch field {
            case .topic: writer.writeLengthPrefixed(records[index].topic)
            case .key: writer.writeLengthPrefixed(records[index].key)
            case .eventID: writer.writeLengthPrefixed(records[index].eventID)
            case .type: writer.writeLengthPrefixed(records[index].type)
            case .payload: writer.writeLengthPrefixed(bytes: records[index].payload)
            case .dossier: writer.writeLengthPrefixed(records[index].dossier)
            case .correlationID: writer.writeLengthPrefixed(records[index].correlationID)
            case .headers:
                if records[index].headers.isEmpty {
                    writer.writeLengthPrefixed(noExtraHeaders)
                } else {
                    writer.writeLengthPrefixed(OutboxRecord.extraHeaders(records[index].headers))
                }
            }
        }
    }
}

extension OutboxRecord {
    /// Extra headers as a JSON object, the outbox's `headers` column (built twice, for the size and the bytes, by
    /// the few records that have any: dead letters).
    fileprivate static func extraHeaders(_ headers: [String]) -> PostgresJSONB {
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
