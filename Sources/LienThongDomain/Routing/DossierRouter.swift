/// Where a routed change must go.
public enum Destination: Sendable, Hashable {
    /// The unit competent to decide (or the unit a dossier was transferred to).
    case competentUnit(AgencyID)
    /// The unit performing step `step` of a liên thông chain.
    case processingStep(AgencyID, step: Int)
    /// The point that received the dossier, which returns the result to the citizen.
    case receivingPoint(AgencyID)
    /// The applicant chose postal return.
    case applicantByPost
    /// The national public service portal's sync stream.
    case nationalPortal
    /// Monitoring.
    case monitoring
}

/// The routing decision for one change.
public enum RoutingResult: Sendable, Hashable {
    /// The dossier's next holder (nil once it is closed) and who must hear about the change.
    case routed(holder: AgencyID?, destinations: [Destination])
    /// A person must choose the unit; `reason` is stable, `candidates` are the possible communes.
    case triage(reason: String, candidates: [CommuneCode])
    /// The change cannot be routed; `reason` is stable.
    case rejected(reason: String)
}

/// What the router needs to know about a dossier and its change.
public struct RoutingRequest: Sendable, Hashable {
    /// The dossier; its code names the receiving point.
    public let dossier: DossierCode
    /// The procedure (national code or local variant).
    public let procedure: ProcedureCode
    /// The commune the matter belongs to, as named on the dossier (possibly a pre-merger code).
    public let commune: CommuneCode
    /// The filing date, which decides how a reused commune code is read.
    public let filedOn: CivilDate
    /// Whether the applicant chose postal return of the result.
    public let returnsByPost: Bool
    /// The change being applied.
    public let change: DossierChange
    /// The dossier's state before the change (nil for a new dossier).
    public let state: DossierState?

    public init(
        dossier: DossierCode, procedure: ProcedureCode, commune: CommuneCode, filedOn: CivilDate,
        returnsByPost: Bool = false, change: DossierChange, state: DossierState?
    ) {
        self.dossier = dossier
        self.procedure = procedure
        self.commune = commune
        self.filedOn = filedOn
        self.returnsByPost = returnsByPost
        self.change = change
        self.state = state
    }
}

/// Routes dossiers: received anywhere in the province, processed by whoever is competent, step by step along a
/// liên thông chain, and back to the receiving point (or by post) with the result. Pure.
public struct DossierRouter: Sendable {
    public let catalogue: ProcedureCatalogue
    public let agencies: AgencyDirectory
    public let units: AdministrativeUnitDirectory
    public let succession: SuccessionTable

    public init(
        catalogue: ProcedureCatalogue, agencies: AgencyDirectory, units: AdministrativeUnitDirectory,
        succession: SuccessionTable
    ) {
        self.catalogue = catalogue
        self.agencies = agencies
        self.units = units
        self.succession = succession
    }

    /// Routes one change.
    public func route(_ request: RoutingRequest) -> RoutingResult {
        guard let procedure = catalogue.procedure(request.procedure) else {
            return .rejected(reason: "unknown_procedure")
        }
        guard let receivingPoint = agencies.agency(request.dossier.receivingAgency) else {
            return .rejected(reason: "unknown_receiving_unit")
        }
        let commune: CommuneCode
        switch succession.resolve(request.commune, filedOn: request.filedOn, directory: units) {
        case .current(let code), .successor(let code): commune = code
        case .needsTriage(let candidates): return .triage(reason: "split_pre_merger_unit", candidates: candidates)
        case .unknown: return .rejected(reason: "unknown_unit")
        }
        guard units.unit(commune)?.province == receivingPoint.province else {
            return .rejected(reason: "unit_outside_province")
        }
        let province = receivingPoint.province
        guard let competent = agencies.agency(type: procedure.competentUnitType, province: province, commune: commune)
        else { return .rejected(reason: "no_competent_unit") }
        var chain: [AgencyID] = []
        chain.reserveCapacity(procedure.steps.count)
        for step in procedure.steps {
            guard let agency = agencies.agency(type: step.unitType, province: province, commune: commune) else {
                return .rejected(reason: "no_competent_unit")
            }
            chain.append(agency.id)
        }
        let current = request.state?.holder
        let result: Destination = request.returnsByPost ? .applicantByPost : .receivingPoint(receivingPoint.id)

        switch request.change {
        case .status(.submittedOnline, _):
            return .routed(
                holder: receivingPoint.id,
                destinations: [.receivingPoint(receivingPoint.id), .nationalPortal, .monitoring])
        case .status(.received, _):
            var destinations: [Destination] = [.competentUnit(competent.id)]
            if chain[0] != competent.id { destinations.append(.processingStep(chain[0], step: 0)) }
            return .routed(holder: chain[0], destinations: destinations + [.nationalPortal, .monitoring])
        case .status(.processing, _):
            let step = min(request.state?.step ?? 0, chain.count - 1)
            return .routed(
                holder: chain[step],
                destinations: [.processingStep(chain[step], step: step), .nationalPortal, .monitoring])
        case .status(.supplementRequested, _), .status(.awaitingFees, _):
            // The citizen is told at the receiving point (or by post) what to supply or pay.
            return .routed(holder: current ?? chain[0], destinations: [result, .nationalPortal, .monitoring])
        case .status(.resolved, _):
            return .routed(holder: receivingPoint.id, destinations: [result, .nationalPortal, .monitoring])
        case .status(let status, _) where status.isTerminal:
            return .routed(holder: nil, destinations: [.nationalPortal, .monitoring])
        case .status:
            return .routed(holder: current, destinations: [.nationalPortal, .monitoring])
        case .stepChanged(let step):
            guard chain.indices.contains(step) else { return .rejected(reason: "step_out_of_range") }
            return .routed(
                holder: chain[step],
                destinations: [.processingStep(chain[step], step: step), .nationalPortal, .monitoring])
        case .transferred(let unit):
            guard agencies.agency(unit) != nil else { return .rejected(reason: "unknown_unit") }
            return .routed(holder: unit, destinations: [.competentUnit(unit), .nationalPortal, .monitoring])
        case .portalSyncAcknowledged:
            return .routed(holder: current, destinations: [])
        case .portalSyncFailed:
            return .routed(holder: current, destinations: [.monitoring])
        case .dueDateReset, .supplementSubmitted, .paymentConfirmed, .resultAttached:
            return .routed(holder: current, destinations: [.nationalPortal, .monitoring])
        }
    }
}
