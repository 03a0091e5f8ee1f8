public import LienThongDomain

/// The topics the worker publishes to (documented in `Schemas/README.md`).
public struct OutboundTopics: Sendable, Hashable {
    /// Every status change and SLA warning, keyed by dossier code. Default: `dossier.status`.
    public var status = "dossier.status"
    /// Refused events with their original bytes. Default: `dossier.events.dlq`.
    public var deadLetter = "dossier.events.dlq"
    /// Dossiers a person must route. Default: `dossier.triage`.
    public var triage = "dossier.triage"
    /// Records for the national portal connector, keyed by dossier code. Default: `portal.sync`.
    public var portalSync = "portal.sync"
    /// Work items for commune points. Default: `dossier.work.commune`.
    public var communeWork = "dossier.work.commune"
    /// Work items for departments. Default: `dossier.work.department`.
    public var departmentWork = "dossier.work.department"
    /// Work items for ministry and vertical agencies. Default: `dossier.work.ministry`.
    public var ministryWork = "dossier.work.ministry"

    /// The default names.
    public init() {}

    /// The work-item topic for a class of destination.
    public func work(_ destinationClass: DestinationClass) -> String {
        switch destinationClass {
        case .commune: communeWork
        case .department: departmentWork
        case .ministryAgency: ministryWork
        }
    }

    /// Every topic, for creating them.
    public var all: [String] { [status, deadLetter, triage, portalSync, communeWork, departmentWork, ministryWork] }
}
