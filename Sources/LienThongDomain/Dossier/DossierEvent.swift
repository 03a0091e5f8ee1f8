public import struct Foundation.Date

/// What an event does to a dossier.
public enum DossierChange: Sendable, Hashable {
    /// A status change; `recallReason` is required for the audited 9 → 4 recall.
    case status(DossierStatus, recallReason: String? = nil)
    /// The dossier moved to another holder unit.
    case transferred(to: AgencyID)
    /// The processing step of a liên thông chain changed (0-based index).
    case stepChanged(to: Int)
    /// A new appointment after an apology form; the original due date stays for reporting.
    case dueDateReset(to: Date)
    /// The applicant submitted the requested supplement (status 5 → 4 follows as its own event).
    case supplementSubmitted
    /// Fees or taxes were paid.
    case paymentConfirmed
    /// The result document was attached.
    case resultAttached
    /// The national portal acknowledged the dossier up to `version`.
    case portalSyncAcknowledged(version: Int64)
    /// Synchronisation with the national portal failed.
    case portalSyncFailed(reason: String)

    /// A stable name for monitoring and the DLQ.
    public var kind: String {
        switch self {
        case .status: "status"
        case .transferred: "transferred"
        case .stepChanged: "step_changed"
        case .dueDateReset: "due_date_reset"
        case .supplementSubmitted: "supplement_submitted"
        case .paymentConfirmed: "payment_confirmed"
        case .resultAttached: "result_attached"
        case .portalSyncAcknowledged: "portal_sync_acknowledged"
        case .portalSyncFailed: "portal_sync_failed"
        }
    }

    /// Portal acknowledgements come from the portal connector, outside the agencies' version sequence.
    public var isVersioned: Bool {
        switch self {
        case .portalSyncAcknowledged, .portalSyncFailed: false
        default: true
        }
    }
}

/// One event about one dossier, as the domain sees it after decoding.
public struct DossierEvent: Sendable, Hashable {
    /// The event's unique id (CloudEvents `id`).
    public let id: String
    /// The dossier.
    public let dossier: DossierCode
    /// The dossier version this event creates: 1 for the first event, previous + 1 after. Ignored for
    /// unversioned changes (portal acknowledgements).
    public let version: Int64
    /// When it happened (CloudEvents `time`).
    public let occurredAt: Date
    /// What it does.
    public let change: DossierChange

    public init(id: String, dossier: DossierCode, version: Int64, occurredAt: Date, change: DossierChange) {
        self.id = id
        self.dossier = dossier
        self.version = version
        self.occurredAt = occurredAt
        self.change = change
    }
}
