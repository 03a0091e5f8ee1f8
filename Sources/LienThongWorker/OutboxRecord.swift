import Foundation
import LienThongDomain

/// One record queued in the outbox, published by the relay exactly as built here.
struct OutboxRecord {
    var topic: String
    var key: String
    /// The unique id consumers deduplicate by (the `ce_id` header).
    var eventID: String
    var type: String
    var payload: String
    /// The dossier it concerns: relays publish one dossier's records in order.
    var dossier: String
    var correlationID: String?
    /// Extra headers as name, value pairs (dead-letter metadata); never personal data.
    var headers: [String] = []
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
        var data = "\"status\":\(state.status.rawValue),\"statusName\":\(JSONText.string(state.status.name))"
        data += ",\"previousStatus\":" + (transition.from.map { String($0.rawValue) } ?? "null")
        data += ",\"holder\":" + (state.holder.map { JSONText.string($0.rawValue) } ?? "null")
        if let dueAt { data += ",\"dueAt\":\(JSONText.string(JSONText.timestamp(dueAt)))" }
        if let onTimeClass { data += ",\"onTimeClass\":\(JSONText.string(onTimeClass.rawValue))" }
        return statusTopicRecord(
            id: "status-\(state.code.rawValue)-\(state.version)", type: "vn.gov.lienthong.dossier.status",
            code: state.code.rawValue, version: state.version, time: time, correlationID: correlationID, data: data)
    }

    func slaWarning(
        code: String, version: Int64, status: DossierStatus, warning: SLAWarning, dueAt: Date, at now: Date
    ) -> OutboxRecord {
        var data = "\"status\":\(status.rawValue),\"statusName\":\(JSONText.string(status.name))"
        data += ",\"warning\":\(JSONText.string(warning.rawValue))"
        data += ",\"dueAt\":\(JSONText.string(JSONText.timestamp(dueAt)))"
        let dueSeconds = Int64(dueAt.timeIntervalSince1970.rounded(.down))
        return statusTopicRecord(
            id: "sla-\(code)-\(warning.rawValue)-\(dueSeconds)", type: "vn.gov.lienthong.dossier.sla-warning",
            code: code, version: version, time: now, correlationID: nil, data: data)
    }

    private func statusTopicRecord(
        id: String, type: String, code: String, version: Int64, time: Date, correlationID: String?, data: String
    ) -> OutboxRecord {
        var payload = "{\"specversion\":\"1.0\",\"id\":\(JSONText.string(id)),\"source\":\"/lienthong\""
        payload += ",\"type\":\(JSONText.string(type)),\"time\":\(JSONText.string(JSONText.timestamp(time)))"
        payload += ",\"subject\":\(JSONText.string(code)),\"dossierversion\":\(version)"
        if let correlationID { payload += ",\"correlationid\":\(JSONText.string(correlationID))" }
        payload += ",\"data\":{\(data)}}"
        return OutboxRecord(
            topic: topics.status, key: code, eventID: id, type: type, payload: payload, dossier: code,
            correlationID: correlationID)
    }

    /// A work item for one destination (`Schemas/work-item.schema.json`), keyed by the destination agency.
    func workItem(
        _ state: DossierState, destination: Agency, action: WorkAction, step: Int?, procedure: ProcedureCode,
        dueAt: Date?, at time: Date, correlationID: String?
    ) -> OutboxRecord {
        let code = state.code.rawValue
        var payload = "{\"dossier\":\(JSONText.string(code)),\"version\":\(state.version)"
        payload += ",\"destination\":\(JSONText.string(destination.id.rawValue))"
        payload += ",\"destinationClass\":\(JSONText.string(destination.destinationClass.rawValue))"
        payload +=
            ",\"action\":\(JSONText.string(action.rawValue)),\"procedure\":\(JSONText.string(procedure.rawValue))"
        if let step { payload += ",\"step\":\(step)" }
        payload += ",\"receivingPoint\":\(JSONText.string(state.code.receivingAgency.rawValue))"
        if let dueAt { payload += ",\"dueAt\":\(JSONText.string(JSONText.timestamp(dueAt)))" }
        payload += ",\"routedAt\":\(JSONText.string(JSONText.timestamp(time)))"
        if let correlationID { payload += ",\"correlationId\":\(JSONText.string(correlationID))" }
        payload += "}"
        return OutboxRecord(
            topic: topics.work(destination.destinationClass), key: destination.id.rawValue,
            eventID: "work-\(code)-\(state.version)-\(destination.id.rawValue)-\(action.rawValue)",
            type: "vn.gov.lienthong.work-item", payload: payload, dossier: code, correlationID: correlationID)
    }

    /// A national-portal record (`Schemas/portal-sync.schema.json`): create-or-update for a status change,
    /// otherwise a progress step.
    func portalSync(
        _ state: DossierState, statusChanged: Bool, procedure: ProcedureCode, unit: AgencyID, step: String?,
        dueAt: Date?, at time: Date, correlationID: String?
    ) -> OutboxRecord {
        let code = state.code.rawValue
        let kind = statusChanged ? "create_or_update" : "progress_step"
        var payload = "{\"kind\":\"\(kind)\",\"maHoSo\":\(JSONText.string(code))"
        payload += ",\"maTTHC\":\(JSONText.string(procedure.rawValue)),\"trangThaiHoSo\":\(state.status.rawValue)"
        payload += ",\"thoiDiem\":\"\(JSONText.portalTimestamp(time))\",\"donViXuLy\":\(JSONText.string(unit.rawValue))"
        payload += ",\"version\":\(state.version)"
        if let step { payload += ",\"buocXuLy\":\(JSONText.string(step))" }
        if let dueAt { payload += ",\"hanXuLy\":\"\(JSONText.portalTimestamp(dueAt))\"" }
        payload += "}"
        return OutboxRecord(
            topic: topics.portalSync, key: code, eventID: "portal-\(code)-\(state.version)",
            type: "vn.gov.lienthong.portal.sync", payload: payload, dossier: code, correlationID: correlationID)
    }

    /// A dossier a person must route (`Schemas/triage-record.schema.json`).
    func triage(
        code: String, eventID: String, reason: String, candidates: [String], at time: Date
    ) -> OutboxRecord {
        var payload = "{\"dossier\":\(JSONText.string(code)),\"eventId\":\(JSONText.string(eventID))"
        payload += ",\"reason\":\(JSONText.string(reason))"
        payload += ",\"candidates\":[" + candidates.map(JSONText.string).joined(separator: ",") + "]"
        payload +=
            ",\"triagedAt\":\(JSONText.string(JSONText.timestamp(time))),\"workerId\":\(JSONText.string(workerID))}"
        return OutboxRecord(
            topic: topics.triage, key: code, eventID: "triage-\(eventID)", type: "vn.gov.lienthong.dossier.triage",
            payload: payload, dossier: code, correlationID: nil)
    }

    /// The dead-letter envelope (`Schemas/dead-letter.schema.json`): original bytes in base64; the headers carry
    /// where it came from and why, never personal data.
    func deadLetter(_ letter: DeadLetter, at now: Date) -> OutboxRecord {
        func base64(_ bytes: [UInt8]?) -> String {
            bytes.map { JSONText.string(Data($0).base64EncodedString()) } ?? "null"
        }
        var json = "{\"originalTopic\":\(JSONText.string(letter.topic)),\"originalPartition\":\(letter.partition)"
        json += ",\"originalOffset\":\(letter.offset),\"errorClass\":\(JSONText.string(letter.errorClass))"
        json += ",\"reason\":\(JSONText.string(letter.reason)),\"workerId\":\(JSONText.string(workerID))"
        json += ",\"failedAt\":\(JSONText.string(JSONText.timestamp(now))),\"key\":\(base64(letter.key))"
        json += ",\"value\":\(base64(letter.value)),\"attempts\":1}"
        let key = letter.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return OutboxRecord(
            topic: topics.deadLetter, key: key, eventID: letter.outboxEventID, type: "vn.gov.lienthong.dead-letter",
            payload: json, dossier: key, correlationID: nil,
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
