public import Foundation
import LienThongDomain
public import LienThongPostgres

/// Applies a batch of consumed events to the dossier store inside the caller's transaction: deduplicates by event
/// id (inbox), applies the state machine in order per dossier, appends hash-chained history, upserts the current
/// state under a version guard, queues status events in the outbox, and records the next offset per partition.
///
/// - Important: call it inside ``PostgresConnection/withTransaction(isolation:_:)``: all of it commits, or none.
public struct DossierBatchWriter: Sendable {
    /// The consumer group whose positions are recorded.
    public let consumerGroup: String
    /// The topic status events are published to. Default: `dossier.status`.
    public var statusTopic = "dossier.status"
    /// The dead-letter topic. Default: `dossier.events.dlq`.
    public var deadLetterTopic = "dossier.events.dlq"
    /// Names this worker in dead-letter records. Default: `lienthong-worker`.
    public var workerID = "lienthong-worker"

    public init(consumerGroup: String) {
        self.consumerGroup = consumerGroup
    }

    private struct StoredDossier {
        var state: DossierState
        var sequence: Int64
        var lastHash: [UInt8]
    }

    /// Writes the batch and returns one outcome per event, in order. Dead letters (records that did not decode)
    /// and events the state machine refuses are queued in the outbox for the dead-letter topic in the same
    /// transaction, so none is lost between the commit and the publication.
    public func write(
        _ batch: [ConsumedEvent], deadLetters: [DeadLetter] = [], in session: PostgresSession, at now: Date = Date()
    ) throws -> [EventOutcome] {
        var outbox = OutboxRows()
        var inbox = InboxRows()
        var letters = deadLetters
        let outcomes = try apply(batch, in: session, outbox: &outbox, inbox: &inbox, deadLetters: &letters)
        for letter in letters {
            let id = "dlq-\(letter.topic)-\(letter.partition)-\(letter.offset)"
            outbox.append(
                (
                    id: id, key: letter.key.map { String(decoding: $0, as: UTF8.self) } ?? "",
                    payload: deadLetterEnvelope(letter, at: now)
                ),
                topic: deadLetterTopic, type: "vn.gov.lienthong.dead-letter")
            if !batch.contains(where: {
                $0.topic == letter.topic && $0.partition == letter.partition && $0.offset == letter.offset
            }) {
                inbox.append(
                    id: id, topic: letter.topic, partition: letter.partition, offset: letter.offset,
                    outcome: "dead_lettered", reason: letter.reason)
            }
        }
        try outbox.insert(in: session)
        try inbox.insert(in: session)
        try savePositions(
            batch.map { ($0.topic, $0.partition, $0.offset) } + deadLetters.map { ($0.topic, $0.partition, $0.offset) },
            in: session)
        return outcomes
    }

    private func apply(
        _ batch: [ConsumedEvent], in session: PostgresSession, outbox: inout OutboxRows, inbox: inout InboxRows,
        deadLetters: inout [DeadLetter]
    ) throws -> [EventOutcome] {
        guard !batch.isEmpty else { return [] }
        let seen = try Set(
            session.query("SELECT event_id FROM inbox WHERE event_id = ANY(\(batch.map(\.event.id)))", prepared: true)
                .map { try $0.decode(String.self, at: 0) })
        var dossiers = try load(Set(batch.map(\.event.subject.rawValue)), in: session)

        var outcomes: [EventOutcome] = []
        var history = HistoryRows()
        var handled: Set<String> = seen
        for consumed in batch {
            let event = consumed.event
            guard handled.insert(event.id).inserted else {
                outcomes.append(.duplicate)
                continue
            }
            let code = event.subject.rawValue
            switch DossierStateMachine.apply(event.dossierEvent, to: dossiers[code]?.state) {
            case .failure(.duplicate):
                outcomes.append(.duplicate)
                inbox.append(consumed, outcome: "duplicate", reason: "duplicate_version")
            case .failure(let rejection):
                outcomes.append(.rejected(rejection))
                inbox.append(consumed, outcome: "rejected", reason: rejection.reason)
                deadLetters.append(
                    DeadLetter(
                        topic: consumed.topic, partition: consumed.partition, offset: consumed.offset,
                        key: consumed.key,
                        value: consumed.bytes, errorClass: "invalid_transition", reason: rejection.reason))
            case .success(let outcome):
                var stored =
                    dossiers[code] ?? StoredDossier(state: outcome.state, sequence: 0, lastHash: AuditChain.genesis)
                let record = AuditRecord(
                    dossier: code, sequence: stored.sequence + 1, version: event.dossierVersion ?? 0, eventID: event.id,
                    eventType: event.type.rawValue, status: outcome.state.status.rawValue,
                    occurredAtMilliseconds: Int64((event.time.timeIntervalSince1970 * 1000).rounded()),
                    payloadDigest: AuditChain.digest(consumed.bytes))
                let hash = AuditChain.hash(record, previous: stored.lastHash)
                history.append(record, previous: stored.lastHash, hash: hash)
                stored.state = outcome.state
                stored.sequence = record.sequence
                stored.lastHash = hash
                dossiers[code] = stored
                for case .statusChanged(let transition) in outcome.decisions {
                    outbox.append(
                        statusEvent(for: event, transition: transition, state: outcome.state), topic: statusTopic,
                        type: "vn.gov.lienthong.dossier.status")
                }
                inbox.append(consumed, outcome: "applied", reason: nil)
                outcomes.append(.applied(outcome))
            }
        }
        try save(dossiers.values.filter { $0.sequence > 0 }, in: session)
        try history.insert(in: session)
        return outcomes
    }

    private func load(_ codes: Set<String>, in session: PostgresSession) throws -> [String: StoredDossier] {
        var dossiers: [String: StoredDossier] = [:]
        let rows = try session.query(
            """
            SELECT code, status, version, holder, step, status_changed_at, portal_synced_version, history_sequence, last_hash
            FROM dossier WHERE code = ANY(\(Array(codes))) ORDER BY code FOR UPDATE
            """, prepared: true)
        for row in rows {
            let code = try DossierCode(try row.decode(String.self, at: 0))
            guard let status = DossierStatus(rawValue: Int(try row.decode(Int32.self, at: 1))) else { continue }
            let holder = try row.decode(String?.self, at: 3).map { try AgencyID($0) }
            let state = DossierState.restored(
                code: code, status: status, version: try row.decode(Int64.self, at: 2), holder: holder,
                step: Int(try row.decode(Int32.self, at: 4)), statusChangedAt: try row.decode(Date.self, at: 5),
                portalSyncedVersion: try row.decode(Int64.self, at: 6))
            dossiers[code.rawValue] = StoredDossier(
                state: state, sequence: try row.decode(Int64.self, at: 7),
                lastHash: try row.decode(PostgresBytes.self, at: 8).bytes)
        }
        return dossiers
    }

    private func save(_ dossiers: [StoredDossier], in session: PostgresSession) throws {
        guard !dossiers.isEmpty else { return }
        let states = dossiers.map(\.state)
        // The version guard keeps a late, older write from overwriting a newer state.
        try session.query(
            """
            INSERT INTO dossier (code, status, version, holder, step, status_changed_at, portal_synced_version,
                                 history_sequence, last_hash, updated_at)
            SELECT c, s, v, NULLIF(h, ''), st, sc, p, hs, lh, now()
            FROM unnest(\(states.map(\.code.rawValue))::text[], \(states.map { Int32($0.status.rawValue) })::int2[],
                        \(states.map(\.version))::int8[], \(states.map { $0.holder?.rawValue ?? "" })::text[],
                        \(states.map { Int32($0.step) })::int4[], \(states.map(\.statusChangedAt))::timestamptz[],
                        \(states.map(\.portalSyncedVersion))::int8[], \(dossiers.map(\.sequence))::int8[],
                        \(dossiers.map { PostgresBytes($0.lastHash) })::bytea[]) AS t(c, s, v, h, st, sc, p, hs, lh)
            ON CONFLICT (code) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,
                holder = EXCLUDED.holder, step = EXCLUDED.step, status_changed_at = EXCLUDED.status_changed_at,
                portal_synced_version = EXCLUDED.portal_synced_version, history_sequence = EXCLUDED.history_sequence,
                last_hash = EXCLUDED.last_hash, updated_at = now()
            WHERE dossier.history_sequence < EXCLUDED.history_sequence
            """, prepared: true)
    }

    private func savePositions(
        _ records: [(topic: String, partition: Int32, offset: Int64)], in session: PostgresSession
    ) throws {
        guard !records.isEmpty else { return }
        var next: [String: (topic: String, partition: Int32, offset: Int64)] = [:]
        for record in records {
            let key = "\(record.topic)|\(record.partition)"
            next[key] = (record.topic, record.partition, max(next[key]?.offset ?? 0, record.offset + 1))
        }
        let positions = Array(next.values)
        try session.query(
            """
            INSERT INTO consumer_position (consumer_group, topic, partition, next_offset)
            SELECT \(consumerGroup), t, p, o FROM unnest(\(positions.map(\.topic))::text[], \(positions.map(\.partition))::int4[],
                                                          \(positions.map(\.offset))::int8[]) AS u(t, p, o)
            ON CONFLICT (consumer_group, topic, partition)
            DO UPDATE SET next_offset = GREATEST(consumer_position.next_offset, EXCLUDED.next_offset), updated_at = now()
            """, prepared: true)
    }

    /// The dead-letter envelope (`Schemas/dead-letter.schema.json`): original bytes in base64, no personal data
    /// outside them.
    private func deadLetterEnvelope(_ letter: DeadLetter, at now: Date) -> String {
        func base64(_ bytes: [UInt8]?) -> String {
            bytes.map { JSONText.string(Data($0).base64EncodedString()) } ?? "null"
        }
        var json = "{\"originalTopic\":\(JSONText.string(letter.topic)),\"originalPartition\":\(letter.partition)"
        json += ",\"originalOffset\":\(letter.offset),\"errorClass\":\(JSONText.string(letter.errorClass))"
        json += ",\"reason\":\(JSONText.string(letter.reason)),\"workerId\":\(JSONText.string(workerID))"
        json += ",\"failedAt\":\(JSONText.string(JSONText.timestamp(now))),\"key\":\(base64(letter.key))"
        json += ",\"value\":\(base64(letter.value)),\"attempts\":1}"
        return json
    }

    private func statusEvent(
        for event: InboundEvent, transition: StatusTransition, state: DossierState
    ) -> (id: String, key: String, payload: String) {
        let id = "status-\(state.code.rawValue)-\(state.version)"
        var data = "\"status\":\(state.status.rawValue),\"statusName\":\(JSONText.string(state.status.name))"
        data += ",\"previousStatus\":" + (transition.from.map { String($0.rawValue) } ?? "null")
        data += ",\"holder\":" + (state.holder.map { JSONText.string($0.rawValue) } ?? "null")
        var payload = "{\"specversion\":\"1.0\",\"id\":\(JSONText.string(id)),\"source\":\"/lienthong\""
        payload +=
            ",\"type\":\"vn.gov.lienthong.dossier.status\",\"time\":\(JSONText.string(JSONText.timestamp(event.time)))"
        payload += ",\"subject\":\(JSONText.string(state.code.rawValue)),\"dossierversion\":\(state.version)"
        if let correlation = event.correlationID { payload += ",\"correlationid\":\(JSONText.string(correlation))" }
        payload += ",\"data\":{\(data)}}"
        return (id, state.code.rawValue, payload)
    }
}

/// History rows gathered for one multi-row insert.
private struct HistoryRows {
    var records: [AuditRecord] = []
    var previous: [PostgresBytes] = []
    var hashes: [PostgresBytes] = []

    mutating func append(_ record: AuditRecord, previous: [UInt8], hash: [UInt8]) {
        records.append(record)
        self.previous.append(PostgresBytes(previous))
        hashes.append(PostgresBytes(hash))
    }

    func insert(in session: PostgresSession) throws {
        guard !records.isEmpty else { return }
        try session.query(
            """
            INSERT INTO dossier_history (dossier, sequence, version, event_id, event_type, status, occurred_at_ms,
                                         payload_sha256, prev_hash, hash)
            SELECT * FROM unnest(\(records.map(\.dossier))::text[], \(records.map(\.sequence))::int8[],
                                 \(records.map(\.version))::int8[], \(records.map(\.eventID))::text[],
                                 \(records.map(\.eventType))::text[], \(records.map { Int32($0.status) })::int2[],
                                 \(records.map(\.occurredAtMilliseconds))::int8[],
                                 \(records.map { PostgresBytes($0.payloadDigest) })::bytea[], \(previous)::bytea[], \(hashes)::bytea[])
            """, prepared: true)
    }
}

/// Outbox rows gathered for one multi-row insert, with a wake-up for the relay.
private struct OutboxRows {
    var topics: [String] = []
    var keys: [String] = []
    var ids: [String] = []
    var types: [String] = []
    var payloads: [PostgresJSONB] = []

    mutating func append(_ event: (id: String, key: String, payload: String), topic: String, type: String) {
        topics.append(topic)
        keys.append(event.key)
        ids.append(event.id)
        types.append(type)
        payloads.append(PostgresJSONB(event.payload))
    }

    func insert(in session: PostgresSession) throws {
        guard !ids.isEmpty else { return }
        try session.query(
            """
            INSERT INTO outbox (topic, key, event_id, event_type, payload, dossier)
            SELECT t, k, i, y, p, k
            FROM unnest(\(topics)::text[], \(keys)::text[], \(ids)::text[], \(types)::text[], \(payloads)::jsonb[]) AS u(t, k, i, y, p)
            ON CONFLICT (event_id) DO NOTHING
            """, prepared: true)
        try session.query("SELECT pg_notify('lienthong_outbox', '')")
    }
}

/// Inbox rows gathered for one multi-row insert.
private struct InboxRows {
    var ids: [String] = []
    var topics: [String] = []
    var partitions: [Int32] = []
    var offsets: [Int64] = []
    var outcomes: [String] = []
    var reasons: [String?] = []

    mutating func append(_ consumed: ConsumedEvent, outcome: String, reason: String?) {
        append(
            id: consumed.event.id, topic: consumed.topic, partition: consumed.partition, offset: consumed.offset,
            outcome: outcome,
            reason: reason)
    }

    mutating func append(id: String, topic: String, partition: Int32, offset: Int64, outcome: String, reason: String?) {
        ids.append(id)
        topics.append(topic)
        partitions.append(partition)
        offsets.append(offset)
        outcomes.append(outcome)
        reasons.append(reason)
    }

    func insert(in session: PostgresSession) throws {
        guard !ids.isEmpty else { return }
        try session.query(
            """
            INSERT INTO inbox (event_id, topic, partition, "offset", outcome, reason)
            SELECT i, t, p, o, oc, NULLIF(r, '')
            FROM unnest(\(ids)::text[], \(topics)::text[], \(partitions)::int4[], \(offsets)::int8[], \(outcomes)::text[],
                        \(reasons.map { $0 ?? "" })::text[]) AS u(i, t, p, o, oc, r)
            """, prepared: true)
    }
}
