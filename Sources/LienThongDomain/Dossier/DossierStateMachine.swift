public import struct Foundation.Date

/// Why an event was not applied. Each case maps to a stable reason for the dead-letter or triage record.
public enum DossierRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status change is not in the portal's table.
    case invalidTransition(StatusTransition)
    /// 9 → 4 without the audit reason a recall needs.
    case recallWithoutReason
    /// The dossier does not exist yet and the event does not create it.
    case unknownDossier
    /// The event's version was applied before: no effect.
    case duplicate(version: Int64)
    /// A version is missing between the state and the event.
    case versionGap(expected: Int64, received: Int64)
    /// The change is not possible in the current status (e.g. a payment outside status 6).
    case notAllowedInStatus(change: String, status: DossierStatus)
    /// The dossier is closed.
    case terminal(DossierStatus)
    /// A step index below zero.
    case invalidStep

    /// A stable, data-free reason string.
    public var reason: String {
        switch self {
        case .invalidTransition: "invalid_transition"
        case .recallWithoutReason: "recall_without_reason"
        case .unknownDossier: "unknown_dossier"
        case .duplicate: "duplicate"
        case .versionGap: "version_gap"
        case .notAllowedInStatus: "not_allowed_in_status"
        case .terminal: "dossier_closed"
        case .invalidStep: "invalid_step"
        }
    }

    public var description: String {
        switch self {
        case .invalidTransition(let transition): "invalid transition \(transition)"
        case .recallWithoutReason: "recall 9→4 without an audit reason"
        case .unknownDossier: "unknown dossier"
        case .duplicate(let version): "duplicate of version \(version)"
        case .versionGap(let expected, let received): "version gap: expected \(expected), received \(received)"
        case .notAllowedInStatus(let change, let status): "\(change) not allowed in status \(status)"
        case .terminal(let status): "dossier closed in status \(status)"
        case .invalidStep: "invalid step"
        }
    }
}

/// What applying an event decided, for the worker to persist and publish.
public enum DossierDecision: Sendable, Hashable {
    /// The status changed: publish it and mark the dossier not yet synced with the portal.
    case statusChanged(StatusTransition)
    /// Receipt: start the deadline clock.
    case startClock
    /// Supplement requested: pause the clock.
    case pauseClock
    /// Supplement received (5 → 4): resume the clock under the province's policy.
    case resumeClock
    /// Awaiting fees or taxes (status 6): pause the clock where the procedure says payment does.
    case pauseClockForFees
    /// Fees settled (6 → 4 or 9): resume a clock paused for them, the due date pushed back by the paused working
    /// time (the time to pay is not the agency's).
    case resumeClockAfterFees
    /// The dossier reached a terminal status or was resolved: stop the clock and classify on-time.
    case stopClock
    /// A new due date.
    case resetDueDate(Date)
    /// The holder changed.
    case holderChanged(from: AgencyID?, to: AgencyID)
    /// The processing step changed.
    case stepChanged(from: Int, to: Int)
    /// The portal must receive the change (create-or-update plus a progress step).
    case syncWithPortal
    /// A recall of a resolved dossier, to be written to the audit trail with its reason.
    case auditedRecall(reason: String)
}

/// The new state and the decisions of one applied event.
public struct DossierOutcome: Sendable, Hashable {
    public let state: DossierState
    public let decisions: [DossierDecision]
}

/// Applies events to dossier states: exactly the transitions of the portal's table, version checks for
/// duplicates and gaps, and the events that change no status. Pure and total: every input yields an outcome or
/// a typed rejection.
public enum DossierStateMachine {
    /// Applies `event` to `state` (nil when the dossier is not known yet).
    public static func apply(_ event: DossierEvent, to state: DossierState?) -> Result<DossierOutcome, DossierRejection>
    {
        guard let state else { return create(event) }
        if !event.change.isVersioned { return applyUnversioned(event, to: state) }
        if event.version <= state.version { return .failure(.duplicate(version: event.version)) }
        if event.version != state.version + 1 {
            return .failure(.versionGap(expected: state.version + 1, received: event.version))
        }
        var next = state
        next.version = event.version
        var decisions = Self.decisionList()
        switch event.change {
        case .status(let status, let recallReason):
            let transition = StatusTransition(from: state.status, to: status)
            if state.status.isTerminal { return .failure(.terminal(state.status)) }
            guard transition.isAllowed else { return .failure(.invalidTransition(transition)) }
            if transition == StatusTransition.recall {
                guard let recallReason, !recallReason.isEmpty else { return .failure(.recallWithoutReason) }
                decisions.append(.auditedRecall(reason: recallReason))
            }
            next.status = status
            next.statusChangedAt = event.occurredAt
            decisions.insert(.statusChanged(transition), at: 0)
            decisions += clockDecisions(for: transition)
        case .transferred(let unit):
            guard !state.status.isTerminal else { return .failure(.terminal(state.status)) }
            next.holder = unit
            decisions.append(.holderChanged(from: state.holder, to: unit))
        case .stepChanged(let step):
            guard step >= 0 else { return .failure(.invalidStep) }
            guard state.status == .processing else {
                return .failure(.notAllowedInStatus(change: event.change.kind, status: state.status))
            }
            next.step = step
            decisions.append(.stepChanged(from: state.step, to: step))
        case .dueDateReset(let due):
            guard [.received, .processing, .supplementRequested, .awaitingFees].contains(state.status) else {
                return .failure(.notAllowedInStatus(change: event.change.kind, status: state.status))
            }
            decisions.append(.resetDueDate(due))
        case .supplementSubmitted:
            guard state.status == .supplementRequested else {
                return .failure(.notAllowedInStatus(change: event.change.kind, status: state.status))
            }
        case .paymentConfirmed:
            guard state.status == .awaitingFees else {
                return .failure(.notAllowedInStatus(change: event.change.kind, status: state.status))
            }
        case .resultAttached:
            guard state.status == .processing || state.status == .resolved else {
                return .failure(.notAllowedInStatus(change: event.change.kind, status: state.status))
            }
        case .portalSyncAcknowledged, .portalSyncFailed:
            return applyUnversioned(event, to: state)
        }
        decisions.append(.syncWithPortal)
        return .success(DossierOutcome(state: next, decisions: decisions))
    }

    private static func create(_ event: DossierEvent) -> Result<DossierOutcome, DossierRejection> {
        guard case .status(let status, _) = event.change else { return .failure(.unknownDossier) }
        let transition = StatusTransition(from: nil, to: status)
        guard transition.isAllowed else { return .failure(.invalidTransition(transition)) }
        guard event.version == 1 else { return .failure(.versionGap(expected: 1, received: event.version)) }
        let state = DossierState(code: event.dossier, status: status, version: 1, at: event.occurredAt)
        var decisions = Self.decisionList()
        decisions.append(.statusChanged(transition))
        decisions += clockDecisions(for: transition)
        decisions.append(.syncWithPortal)
        return .success(DossierOutcome(state: state, decisions: decisions))
    }

    /// An empty decision list with room for the most an event makes (a recall, its status change, two clock
    /// decisions and the portal sync): grown from empty, it reallocated up to three times per event.
    private static func decisionList() -> [DossierDecision] {
        var decisions: [DossierDecision] = []
        decisions.reserveCapacity(5)
        return decisions
    }

    private static func applyUnversioned(
        _ event: DossierEvent, to state: DossierState
    ) -> Result<DossierOutcome, DossierRejection> {
        var next = state
        if case .portalSyncAcknowledged(let version) = event.change {
            next.portalSyncedVersion = max(state.portalSyncedVersion, min(version, state.version))
        }
        // A failed sync changes nothing here: the dossier stays "not yet synced" and the relay retries.
        return .success(DossierOutcome(state: next, decisions: []))
    }

    private static func clockDecisions(for transition: StatusTransition) -> [DossierDecision] {
        switch (transition.from, transition.to) {
        case (_, .received): [.startClock]
        case (_, .supplementRequested): [.pauseClock]
        case (.supplementRequested, .processing): [.resumeClock]
        case (_, .awaitingFees): [.pauseClockForFees]
        case (.awaitingFees, .processing): [.resumeClockAfterFees]
        case (.awaitingFees, .resolved): [.resumeClockAfterFees, .stopClock]
        case (_, .resolved): [.stopClock]
        case (.resolved, .processing): [.resumeClock]
        case (_, let to) where to.isTerminal: [.stopClock]
        default: []
        }
    }
}
