import Foundation
import LienThongDomain
import PropertyBased
import Testing

/// The transitions of DOMAIN.md, written out independently of the implementation's table.
private let documentedTransitions: Set<String> = [
    "∅→1", "∅→2", "1→2", "1→3", "1→7", "2→4", "2→5", "2→7", "4→5", "4→6", "4→8", "4→9", "4→7", "5→4", "5→8", "5→7",
    "6→4", "6→9", "6→7", "9→10", "9→4",
]

private let code = try! DossierCode("000.00.12.H56-250701-0001")
private let start = Date(timeIntervalSince1970: 1_751_331_600)

private func event(_ version: Int64, _ change: DossierChange, id: String? = nil) -> DossierEvent {
    DossierEvent(
        id: id ?? "e\(version)", dossier: code, version: version,
        occurredAt: start.addingTimeInterval(Double(version) * 60),
        change: change)
}

/// A dossier brought to `status` through allowed transitions.
private func dossier(in status: DossierStatus) throws -> DossierState {
    let paths: [DossierStatus: [DossierStatus]] = [
        .submittedOnline: [.submittedOnline], .received: [.received],
        .refusedAtReception: [.submittedOnline, .refusedAtReception],
        .processing: [.received, .processing], .supplementRequested: [.received, .supplementRequested],
        .awaitingFees: [.received, .processing, .awaitingFees], .withdrawn: [.received, .withdrawn],
        .processingStopped: [.received, .processing, .processingStopped],
        .resolved: [.received, .processing, .resolved],
        .resultReturned: [.received, .processing, .resolved, .resultReturned],
    ]
    var state: DossierState?
    for (index, step) in paths[status]!.enumerated() {
        state = try DossierStateMachine.apply(event(Int64(index + 1), .status(step)), to: state).get().state
    }
    return state!
}

@Suite("Dossier state machine")
struct DossierStateMachineTests {
    @Test func theTableIsExactlyTheDocumentedTransitions() {
        #expect(Set(StatusTransition.allowed.map(\.description)) == documentedTransitions)
    }

    @Test(arguments: [DossierStatus?.none] + DossierStatus.allCases.map(Optional.some), DossierStatus.allCases)
    func everyPairIsAppliedOrRejectedAsTheTableSays(from: DossierStatus?, to: DossierStatus) throws {
        let transition = StatusTransition(from: from, to: to)
        let state = try from.map(dossier(in:))
        let version = (state?.version ?? 0) + 1
        let recall = transition == StatusTransition.recall ? "court order 12/2025" : nil
        let result = DossierStateMachine.apply(event(version, .status(to, recallReason: recall)), to: state)
        if documentedTransitions.contains(transition.description) {
            let outcome = try result.get()
            #expect(outcome.state.status == to)
            #expect(outcome.state.version == version)
            #expect(outcome.decisions.first == .statusChanged(transition))
            #expect(outcome.decisions.last == .syncWithPortal)
            #expect(!outcome.state.isPortalSynced)
        } else if let from, from.isTerminal {
            #expect(throws: DossierRejection.terminal(from)) { try result.get() }
        } else {
            #expect(throws: DossierRejection.invalidTransition(transition)) { try result.get() }
        }
    }

    @Test func aRecallNeedsItsAuditReason() throws {
        let resolved = try dossier(in: .resolved)
        #expect(throws: DossierRejection.recallWithoutReason) {
            try DossierStateMachine.apply(event(resolved.version + 1, .status(.processing)), to: resolved).get()
        }
        let recalled = try DossierStateMachine.apply(
            event(resolved.version + 1, .status(.processing, recallReason: "error in result")), to: resolved
        ).get()
        #expect(recalled.decisions.contains(.auditedRecall(reason: "error in result")))
    }

    @Test func versionsDetectDuplicatesAndGaps() throws {
        let state = try dossier(in: .processing)  // version 2
        #expect(throws: DossierRejection.duplicate(version: 2)) {
            try DossierStateMachine.apply(event(2, .status(.resolved)), to: state).get()
        }
        #expect(throws: DossierRejection.duplicate(version: 1)) {
            try DossierStateMachine.apply(event(1, .status(.received)), to: state).get()
        }
        #expect(throws: DossierRejection.versionGap(expected: 3, received: 5)) {
            try DossierStateMachine.apply(event(5, .status(.resolved)), to: state).get()
        }
        #expect(throws: DossierRejection.versionGap(expected: 1, received: 2)) {
            try DossierStateMachine.apply(event(2, .status(.received)), to: nil).get()
        }
        #expect(throws: DossierRejection.unknownDossier) {
            try DossierStateMachine.apply(event(1, .paymentConfirmed), to: nil).get()
        }
    }

    @Test func clockDecisionsFollowTheStatuses() throws {
        #expect(
            try DossierStateMachine.apply(event(1, .status(.received)), to: nil).get().decisions.contains(.startClock))
        let processing = try dossier(in: .processing)
        let paused = try DossierStateMachine.apply(event(3, .status(.supplementRequested)), to: processing).get()
        #expect(paused.decisions.contains(.pauseClock))
        let resumed = try DossierStateMachine.apply(event(4, .status(.processing)), to: paused.state).get()
        #expect(resumed.decisions.contains(.resumeClock))
        let resolved = try DossierStateMachine.apply(event(5, .status(.resolved)), to: resumed.state).get()
        #expect(resolved.decisions.contains(.stopClock))
    }

    @Test func awaitingFeesPausesAndSettlingResumesBeforeTheClockStops() throws {
        let fees = try DossierStateMachine.apply(event(3, .status(.awaitingFees)), to: try dossier(in: .processing))
            .get()
        #expect(fees.decisions.contains(.pauseClockForFees))
        #expect(
            try DossierStateMachine.apply(event(4, .status(.processing)), to: fees.state).get().decisions
                .contains(.resumeClockAfterFees))
        let resolved = try DossierStateMachine.apply(event(4, .status(.resolved)), to: fees.state).get()
        #expect(
            resolved.decisions.filter { [.resumeClockAfterFees, .stopClock].contains($0) } == [
                .resumeClockAfterFees, .stopClock,
            ], "resumed first, so the on-time class sees the pushed-back due date")
        let withdrawn = try DossierStateMachine.apply(event(4, .status(.withdrawn)), to: fees.state).get()
        #expect(!withdrawn.decisions.contains(.resumeClockAfterFees))
    }

    @Test func eventsWithoutStatusChangeAreCheckedAgainstTheStatus() throws {
        let processing = try dossier(in: .processing)
        let department = try AgencyID("000.00.02.H26")
        let transferred = try DossierStateMachine.apply(event(3, .transferred(to: department)), to: processing).get()
        #expect(transferred.state.holder == department)
        #expect(transferred.decisions.contains(.holderChanged(from: nil, to: department)))
        let stepped = try DossierStateMachine.apply(event(4, .stepChanged(to: 1)), to: transferred.state).get()
        #expect(stepped.state.step == 1)
        #expect(throws: DossierRejection.notAllowedInStatus(change: "payment_confirmed", status: .processing)) {
            try DossierStateMachine.apply(event(5, .paymentConfirmed), to: stepped.state).get()
        }
        // Payment, supplement and result change no field of the state: the history records them (event type),
        // the version moves on and the portal hears of it.
        let fees = try dossier(in: .awaitingFees)
        let paid = try DossierStateMachine.apply(event(4, .paymentConfirmed), to: fees).get()
        #expect(paid.state.status == .awaitingFees && paid.state.version == 4)
        #expect(paid.decisions == [.syncWithPortal])
        let returned = try dossier(in: .resultReturned)
        #expect(throws: DossierRejection.terminal(.resultReturned)) {
            try DossierStateMachine.apply(event(5, .transferred(to: department)), to: returned).get()
        }
        let supplement = try dossier(in: .supplementRequested)
        let submitted = try DossierStateMachine.apply(event(3, .supplementSubmitted), to: supplement).get()
        #expect(submitted.state.status == .supplementRequested && submitted.decisions == [.syncWithPortal])
        #expect(throws: DossierRejection.notAllowedInStatus(change: "supplement_submitted", status: .processing)) {
            try DossierStateMachine.apply(event(5, .supplementSubmitted), to: stepped.state).get()
        }
        let resolved = try dossier(in: .resolved)
        #expect(
            try DossierStateMachine.apply(event(4, .resultAttached), to: resolved).get().decisions == [.syncWithPortal])
        #expect(throws: DossierRejection.notAllowedInStatus(change: "result_attached", status: .received)) {
            try DossierStateMachine.apply(event(2, .resultAttached), to: dossier(in: .received)).get()
        }
    }

    @Test func portalAcknowledgementsMarkTheDossierSyncedWithoutAVersion() throws {
        let processing = try dossier(in: .processing)
        #expect(!processing.isPortalSynced)
        let acknowledged = try DossierStateMachine.apply(event(0, .portalSyncAcknowledged(version: 2)), to: processing)
            .get()
        #expect(acknowledged.state.isPortalSynced)
        #expect(acknowledged.state.version == 2)
        let failed = try DossierStateMachine.apply(event(0, .portalSyncFailed(reason: "timeout")), to: processing).get()
        #expect(!failed.state.isPortalSynced)
    }

    @Test func noEventSequenceLeavesTheTable() async {
        let changes = Gen<DossierStatus>.case.map { DossierChange.status($0, recallReason: "audit") }
        await propertyCheck(count: 300, input: changes.array(of: 1...25)) { sequence in
            var state: DossierState?
            for (index, change) in sequence.enumerated() {
                let before = state?.status
                guard case .success(let outcome) = DossierStateMachine.apply(event(Int64(index + 1), change), to: state)
                else { break }
                #expect(StatusTransition(from: before, to: outcome.state.status).isAllowed)
                state = outcome.state
            }
        }
    }
}
