public import struct Foundation.Date

/// The inbound event types (CloudEvents `type`).
public enum InboundEventType: String, Sendable, Hashable, CaseIterable {
    case submitted = "vn.gov.lienthong.dossier.submitted"
    case received = "vn.gov.lienthong.dossier.received"
    case statusChanged = "vn.gov.lienthong.dossier.status-changed"
    case transferred = "vn.gov.lienthong.dossier.transferred"
    case stepChanged = "vn.gov.lienthong.dossier.step-changed"
    case dueDateReset = "vn.gov.lienthong.dossier.due-date-reset"
    case supplementSubmitted = "vn.gov.lienthong.dossier.supplement-submitted"
    case paymentConfirmed = "vn.gov.lienthong.dossier.payment-confirmed"
    case resultAttached = "vn.gov.lienthong.dossier.result-attached"
    case portalSyncAcknowledged = "vn.gov.lienthong.portal.sync-acknowledged"
    case portalSyncFailed = "vn.gov.lienthong.portal.sync-failed"

    /// Portal acknowledgements carry no dossier version.
    public var requiresDossierVersion: Bool { !rawValue.hasPrefix("vn.gov.lienthong.portal.") }
}

/// How a dossier reached its receiving point.
public enum SubmissionChannel: String, Sendable, Hashable, CaseIterable {
    case online, counter, postal
}

/// The data of a submission or receipt: what the dossier is about and who filed it.
public struct DossierOpening: Sendable, Hashable {
    public let procedure: ProcedureCode
    /// The commune the matter belongs to, as named by the sender (possibly pre-merger).
    public let commune: CommuneCode
    public let channel: SubmissionChannel
    public let returnsByPost: Bool
    /// The applicant's name, NFC.
    public let applicantName: String
    /// The applicant's CCCD, if given; it prints masked.
    public let applicantCitizenID: CitizenID?
}

/// The type-specific data of an inbound event.
public enum InboundEventData: Sendable, Hashable {
    case opening(DossierOpening)
    case statusChanged(status: DossierStatus, reason: String?, recallReason: String?)
    case transferred(to: AgencyID, reason: String?)
    case stepChanged(step: Int)
    case dueDateReset(newDueAt: Date, reason: String)
    case supplementSubmitted(note: String?)
    case paymentConfirmed(amountVND: Int64)
    case resultAttached(documentID: String)
    case portalSyncAcknowledged(version: Int64)
    case portalSyncFailed(reason: String)
}

/// A decoded, validated inbound event (CloudEvents 1.0 structured mode with LienThong's extensions).
public struct InboundEvent: Sendable, Hashable {
    public let id: String
    /// The sending agency (`source` = `/agencies/{id}`).
    public let source: AgencyID
    public let type: InboundEventType
    public let time: Date
    /// The dossier (`subject`).
    public let subject: DossierCode
    /// The dossier version this event creates (extension `dossierversion`); nil for portal acknowledgements.
    public let dossierVersion: Int64?
    /// The producing agency (extension `produceragency`).
    public let producerAgency: AgencyID
    /// The correlation id (extension `correlationid`).
    public let correlationID: String?
    public let data: InboundEventData

    /// The event as the state machine sees it.
    public var dossierEvent: DossierEvent {
        let change: DossierChange =
            switch data {
            case .opening: .status(type == .submitted ? .submittedOnline : .received)
            case .statusChanged(let status, _, let recallReason): .status(status, recallReason: recallReason)
            case .transferred(let unit, _): .transferred(to: unit)
            case .stepChanged(let step): .stepChanged(to: step)
            case .dueDateReset(let due, _): .dueDateReset(to: due)
            case .supplementSubmitted: .supplementSubmitted
            case .paymentConfirmed: .paymentConfirmed
            case .resultAttached: .resultAttached
            case .portalSyncAcknowledged(let version): .portalSyncAcknowledged(version: version)
            case .portalSyncFailed(let reason): .portalSyncFailed(reason: reason)
            }
        return DossierEvent(id: id, dossier: subject, version: dossierVersion ?? 0, occurredAt: time, change: change)
    }
}

/// Why an inbound event was refused: a stable reason (the name of the invalid example in `Schemas/examples`
/// that shows it) and the dead-letter error class.
public struct EventRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The dead-letter error classes.
    public enum ErrorClass: String, Sendable, Hashable {
        case malformed
        case schemaViolation = "schema_violation"
        case oversize
        case nulCharacter = "nul_character"
    }

    /// Creates a rejection.
    public init(errorClass: ErrorClass, reason: String) {
        self.errorClass = errorClass
        self.reason = reason
    }

    public let errorClass: ErrorClass
    /// E.g. `missing_attribute.id`, `invalid_data_field.applicant.citizenId`, `unknown_type`.
    public let reason: String

    public var description: String { "\(errorClass.rawValue): \(reason)" }
}
