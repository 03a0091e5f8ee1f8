import Foundation
import LienThongDomain
import LienThongKafka

/// One record queued in the outbox, published by the relay exactly as built here.
struct OutboxRecord {
    var topic: String
    var key: String
    /// The unique id consumers deduplicate by (the `ce_id` header).
    var eventID: String
    var type: String
    /// The JSON text as UTF-8.
    var payload: [UInt8]
    /// The dossier it concerns: relays publish one dossier's records in order.
    var dossier: String
    var correlationID: String?
    /// Extra headers as name, value pairs (dead-letter metadata); never personal data.
    var headers: [String] = []
}

extension OutboxRecord {
    /// Extra headers given as name, value, name, value… as (name, value) pairs, in the order they were added. Static,
    /// over the one field: a property read on a record in an array copies the whole record first.
    static func headerPairs(_ headers: [String]) -> [(name: String, value: String)] {
        stride(from: 0, to: headers.count - 1, by: 2).map { (headers[$0], headers[$0 + 1]) }
    }

    /// Extra headers given as name, value, name, value… by name (the last value of a repeated name).
    static func extraHeaders(_ headers: [String]) -> [String: String] {
        headers.isEmpty ? [:] : Dictionary(headerPairs(headers), uniquingKeysWith: { $1 })
    }

    /// Queues a record as every relay publishes it, from memory or from the table: headers `ce_id`, `ce_type`,
    /// `ce_source`, `correlation_id` when there is one, then the extra headers sorted by name.
    static func produce(
        topic: String, key: String, eventID: String, type: String, payload: [UInt8], correlationID: String?,
        extraHeaders: [String: String], into writer: inout KafkaRecordWriter
    ) {
        writer.produce(
            topic: topic, key: key, value: payload, headerCount: 4 + extraHeaders.count,
            headers: { headers in
                headers.add("ce_id", eventID)
                headers.add("ce_type", type)
                headers.add("ce_source", "/lienthong")
                if let correlationID { headers.add("correlation_id", correlationID) }
                guard !extraHeaders.isEmpty else { return }  // most records: no sort, no array
                for header in extraHeaders.sorted(by: { $0.key < $1.key }) { headers.add(header.key, header.value) }
            })
    }
}

/// The records of one `outbox_batch` row, as positions in its transaction's records (shared, never copied).
struct OutboxRowRecords {
    private let records: [OutboxRecord]
    private let positions: ArraySlice<Int>

    /// The records at `positions` of `records`, in that order.
    init(_ records: [OutboxRecord], positions: ArraySlice<Int>) {
        self.records = records
        self.positions = positions
    }

    var count: Int { positions.count }

    /// Queues the row's record `index` as a relay publishes it (``OutboxRecord/produce(topic:key:eventID:type:payload:correlationID:extraHeaders:into:)``).
    /// Read field by field (a record taken whole is copied, every field retained and released).
    func produce(_ index: Int, into writer: inout KafkaRecordWriter) {
        let position = positions[positions.startIndex + index]
        OutboxRecord.produce(
            topic: records[position].topic, key: records[position].key, eventID: records[position].eventID,
            type: records[position].type, payload: records[position].payload,
            correlationID: records[position].correlationID,
            extraHeaders: OutboxRecord.extraHeaders(records[position].headers), into: &writer)
    }
}

/// Builds the outbound records (`Schemas/*.schema.json`): status events, SLA warnings, work items, portal sync
/// records, triage records and dead letters.
struct OutboundRecords {
    let topics: OutboundTopics
    let workerID: String

    func statusChange(
        _ state: DossierState, transition: StatusTransition, at time: Date, dueAt: Date?, onTimeClass: OnTimeClass?,
        correlationID: String?
    ) -> OutboxRecord {
        let code = state.code.rawValue
        let id = Self.eventID("status", code, state.version)
        var json = statusEnvelope(
            id: id, type: "vn.gov.lienthong.dossier.status", code: code, version: state.version, time: time,
            correlationID: correlationID)
        json.field("status", state.status.rawValue)
        json.field("statusName", state.status.name)
        json.field("previousStatus", transition.from?.rawValue)
        json.field("holder", state.holder?.rawValue)
        if let dueAt { json.field("dueAt", timestamp: dueAt) }
        if let onTimeClass { json.field("onTimeClass", onTimeClass.rawValue) }
        json.endObject()
        return OutboxRecord(
            topic: topics.status, key: code, eventID: id, type: "vn.gov.lienthong.dossier.status",
            payload: json.finish(), dossier: code, correlationID: correlationID)
    }

    func slaWarning(
        code: String, version: Int64, status: DossierStatus, warning: SLAWarning, dueAt: Date, at now: Date
    ) -> OutboxRecord {
        let id = "sla-\(code)-\(warning.rawValue)-\(Int64(dueAt.timeIntervalSince1970.rounded(.down)))"
        var json = statusEnvelope(
            id: id, type: "vn.gov.lienthong.dossier.sla-warning", code: code, version: version, time: now,
            correlationID: nil)
        json.field("status", status.rawValue)
        json.field("statusName", status.name)
        json.field("warning", warning.rawValue)
        json.field("dueAt", timestamp: dueAt)
        json.endObject()
        return OutboxRecord(
            topic: topics.status, key: code, eventID: id, type: "vn.gov.lienthong.dossier.sla-warning",
            payload: json.finish(), dossier: code, correlationID: nil)
    }

    /// `kind-code-version[-unit-action]`, the id of a record derived from one dossier version, built in one
    /// allocation (string interpolation reserved too little and grew twice).
    private static func eventID(
        _ kind: StaticString, _ code: String, _ version: Int64, destination: (unit: String, action: String)? = nil
    ) -> String {
        let version = String(version)
        let destinationLength = destination.map { $0.unit.utf8.count + $0.action.utf8.count + 2 } ?? 0
        var id = ""
        id.reserveCapacity(kind.utf8CodeUnitCount + code.utf8.count + version.utf8.count + 2 + destinationLength)
        id += kind.description
        id += "-"
        id += code
        id += "-"
        id += version
        if let destination {
            id += "-"
            id += destination.unit
            id += "-"
            id += destination.action
        }
        return id
    }

    /// The CloudEvents envelope of a `dossier.status` record, with its `data` object open.
    private func statusEnvelope(
        id: String, type: String, code: String, version: Int64, time: Date, correlationID: String?
    ) -> JSONWriter {
        var json = JSONWriter()
        json.field("specversion", "1.0")
        json.field("id", id)
        json.field("source", "/lienthong")
        json.field("type", type)
        json.field("time", timestamp: time)
        json.field("subject", code)
        json.field("dossierversion", version)
        if let correlationID { json.field("correlationid", correlationID) }
        json.beginObject("data")
        return json
    }

    /// A work item for one destination (`Schemas/work-item.schema.json`), keyed by the destination agency.
    func workItem(
        _ state: DossierState, destination: Agency, action: WorkAction, step: Int?, procedure: ProcedureCode,
        dueAt: Date?, at time: Date, correlationID: String?
    ) -> OutboxRecord {
        let code = state.code.rawValue
        var json = JSONWriter()
        json.field("dossier", code)
        json.field("version", state.version)
        json.field("destination", destination.id.rawValue)
        json.field("destinationClass", destination.destinationClass.rawValue)
        json.field("action", action.rawValue)
        json.field("procedure", procedure.rawValue)
        if let step { json.field("step", step) }
        json.field("receivingPoint", state.code.receivingAgency.rawValue)
        if let dueAt { json.field("dueAt", timestamp: dueAt) }
        json.field("routedAt", timestamp: time)
        if let correlationID { json.field("correlationId", correlationID) }
        return OutboxRecord(
            topic: topics.work(destination.destinationClass), key: destination.id.rawValue,
            eventID: Self.eventID(
                "work", code, state.version, destination: (destination.id.rawValue, action.rawValue)),
            type: "vn.gov.lienthong.work-item", payload: json.finish(), dossier: code, correlationID: correlationID)
    }

    /// A national-portal record (`Schemas/portal-sync.schema.json`): create-or-update for a status change,
    /// otherwise a progress step.
    func portalSync(
        _ state: DossierState, statusChanged: Bool, procedure: ProcedureCode, unit: AgencyID, step: String?,
        dueAt: Date?, at time: Date, correlationID: String?
    ) -> OutboxRecord {
        let code = state.code.rawValue
        var json = JSONWriter()
        json.field("kind", statusChanged ? "create_or_update" : "progress_step")
        json.field("maHoSo", code)
        json.field("maTTHC", procedure.rawValue)
        json.field("trangThaiHoSo", state.status.rawValue)
        json.field("thoiDiem", portalTimestamp: time)
        json.field("donViXuLy", unit.rawValue)
        json.field("version", state.version)
        if let step { json.field("buocXuLy", step) }
        if let dueAt { json.field("hanXuLy", portalTimestamp: dueAt) }
        return OutboxRecord(
            topic: topics.portalSync, key: code, eventID: Self.eventID("portal", code, state.version),
            type: "vn.gov.lienthong.portal.sync", payload: json.finish(), dossier: code, correlationID: correlationID)
    }

    /// A dossier a person must route (`Schemas/triage-record.schema.json`).
    func triage(code: String, eventID: String, reason: String, candidates: [String], at time: Date) -> OutboxRecord {
        var json = JSONWriter()
        json.field("dossier", code)
        json.field("eventId", eventID)
        json.field("reason", reason)
        json.field("candidates", strings: candidates)
        json.field("triagedAt", timestamp: time)
        json.field("workerId", workerID)
        return OutboxRecord(
            topic: topics.triage, key: code, eventID: "triage-\(eventID)", type: "vn.gov.lienthong.dossier.triage",
            payload: json.finish(), dossier: code, correlationID: nil)
    }

    /// The dead-letter envelope (`Schemas/dead-letter.schema.json`): original bytes in base64; the headers carry
    /// where it came from and why, never personal data.
    func deadLetter(_ letter: DeadLetter, at now: Date) -> OutboxRecord {
        var json = JSONWriter()
        json.field("originalTopic", letter.topic)
        json.field("originalPartition", Int(letter.partition))
        json.field("originalOffset", letter.offset)
        json.field("errorClass", letter.errorClass)
        json.field("reason", letter.reason)
        json.field("workerId", workerID)
        json.field("failedAt", timestamp: now)
        json.field("key", letter.key.map { Data($0).base64EncodedString() })
        json.field("value", letter.value.map { Data($0).base64EncodedString() })
        json.field("attempts", 1)
        let key = letter.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return OutboxRecord(
            topic: topics.deadLetter, key: key, eventID: letter.outboxEventID, type: "vn.gov.lienthong.dead-letter",
            payload: json.finish(), dossier: key, correlationID: nil,
            headers: [
                "dlq_original_topic", letter.topic, "dlq_original_partition", String(letter.partition),
                "dlq_original_offset", String(letter.offset), "dlq_error_class", letter.errorClass,
                "dlq_reason", letter.reason, "dlq_worker_id", workerID,
            ])
    }
}

/// What a work item asks of its destination.
enum WorkAction: String {
    /// Decide the dossier (the competent unit).
    case process
    /// Perform one step of a liên thông chain.
    case processStep = "process_step"
    /// Hand the result to the citizen (the receiving point).
    case returnResult = "return_result"
    /// Be informed (supplement or fee requests to the receiving point, transfers).
    case notify
}

extension DeadLetter {
    /// The outbox event id of this dead letter: one per original record.
    var outboxEventID: String { "dlq-\(topic)-\(partition)-\(offset)" }
}
