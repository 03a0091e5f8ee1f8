public import Foundation
public import LienThongDomain
import LienThongKafka
public import LienThongPostgres

/// Applies a batch of consumed events to the dossier store inside the caller's transaction: deduplicates by event
/// id (inbox), applies the state machine in order per dossier, routes each change, runs the deadline clock,
/// appends hash-chained history, upserts the current state under a version guard, queues every outbound record
/// (status events, work items, portal sync records, triage records, dead letters) in the outbox, holds events that
/// arrive ahead of their version, and records the next offset per partition.
///
/// - Important: call it inside ``PostgresConnection/withTransaction(isolation:_:)``: all of it commits, or none.
public struct DossierBatchWriter: Sendable {
    /// The consumer group whose positions are recorded.
    public let consumerGroup: String
    /// The tables routing and deadlines use.
    public let referenceData: ReferenceData
    /// Where outbound records go.
    public var topics = OutboundTopics()
    /// Names this worker in dead-letter and triage records. Default: `lienthong-worker`.
    public var workerID = "lienthong-worker"
    /// How a clock paused for a supplement resumes. Default: restart the full duration (the decree's reading).
    public var resumePolicy = SLAResumePolicy.restartFullDuration
    /// Provinces whose policy differs from ``resumePolicy``, by the receiving point's province.
    public var resumePolicyByProvince: [ProvinceCode: SLAResumePolicy] = [:]
    /// Where the outbox rows written are remembered for this process's relays (nil: they read them back).
    public var outboxCache: OutboxRecordCache?
    private let decoder = InboundEventDecoder()

    public init(consumerGroup: String, referenceData: ReferenceData) {
        self.consumerGroup = consumerGroup
        self.referenceData = referenceData
    }

    /// Writes the batch and returns one outcome per event, in order. Dead letters (records that did not decode)
    /// and events the state machine or the router refuses are queued in the outbox for the dead-letter topic in
    /// the same transaction, so none is lost between the commit and the publication.
    public func write(
        _ batch: [ConsumedEvent], deadLetters: [DeadLetter] = [], in session: PostgresSession, at now: Date = Date()
    ) throws -> [EventOutcome] {
        var application = BatchApplication(
            writer: self, records: OutboundRecords(topics: topics, workerID: workerID), deadLetters: deadLetters)
        var outcomes: [EventOutcome] = []
        // Ids stored before: handled (a duplicate now), or rejected and dead-lettered (decided again, overwritten).
        var replacing: Set<String> = []
        let inboxIDs = batch.map(\.event.id) + deadLetters.map(\.outboxEventID)
        application.handled.reserveCapacity(inboxIDs.count)
        if !inboxIDs.isEmpty {
            for row in try session.query(
                """
                SELECT event_id, outcome IN ('rejected', 'dead_lettered') FROM inbox WHERE event_id = ANY(\(inboxIDs))
                """, prepared: true)
            {
                let (id, isReplaceable) = try row.decode((String, Bool).self)
                if isReplaceable { replacing.insert(id) } else { application.handled.insert(id) }
            }
        }
        if !batch.isEmpty {
            let codes = Set(batch.map(\.event.subject.rawValue))
            application.dossiers = try StoredDossier.load(codes, catalogue: referenceData.router.catalogue, in: session)
            application.held = try HeldRows.load(codes, decoder: decoder, in: session)
            outcomes = batch.map { application.applyOnce($0) }
            application.storeStillHeld()
        }
        for letter in application.deadLetters {
            application.outbox.append(application.records.deadLetter(letter, at: now))
            if !batch.contains(where: {
                $0.topic == letter.topic && $0.partition == letter.partition && $0.offset == letter.offset
            }) {
                application.inbox.append(
                    id: letter.outboxEventID, topic: letter.topic, partition: letter.partition, offset: letter.offset,
                    outcome: "dead_lettered", reason: letter.reason, consumedAt: letter.consumedAt)
            }
        }
        try application.inbox.insert(in: session, replacing: replacing)
        try application.heldRows.write(in: session)
        try application.triage.insert(in: session)
        try application.outbox.insert(in: session, remembering: outboxCache)
        try application.history.insert(in: session)
        try StoredDossier.save(application.takeChangedDossiers(), in: session)
        try savePositions(
            batch.map { ($0.topic, $0.partition, $0.offset) } + deadLetters.map { ($0.topic, $0.partition, $0.offset) },
            in: session)
        return outcomes
    }

    private func savePositions(
        _ records: [(topic: String, partition: Int32, offset: Int64)], in session: PostgresSession
    ) throws {
        guard !records.isEmpty else { return }
        var next: [KafkaTopicPartition: Int64] = [:]
        for record in records {
            let partition = KafkaTopicPartition(topic: record.topic, partition: record.partition)
            next[partition] = max(next[partition] ?? 0, record.offset + 1)
        }
        let positions = next.map { (topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
        try session.query(
            """
            INSERT INTO consumer_position (consumer_group, topic, partition, next_offset)
            SELECT \(consumerGroup), t, p, o FROM unnest(\(positions.map(\.topic))::text[], \(positions.map(\.partition))::int4[],
                                                          \(positions.map(\.offset))::int8[]) AS u(t, p, o)
            ON CONFLICT (consumer_group, topic, partition)
            DO UPDATE SET next_offset = GREATEST(consumer_position.next_offset, EXCLUDED.next_offset), updated_at = now()
            """, prepared: true)
    }
}

/// The working state of one batch: the dossiers it touches and every row it will write.
private struct BatchApplication {
    let writer: DossierBatchWriter
    let records: OutboundRecords
    var deadLetters: [DeadLetter]
    var handled: Set<String> = []
    /// The dossiers the batch touches, by code. An event that changes one moves it out (nil) and back in place:
    /// neither copied (every field retained, then released) nor its code hashed again.
    var dossiers: [String: StoredDossier?] = [:]
    var held: [String: [Int64: HeldEvent]] = [:]
    var outbox = OutboxRows()
    var inbox = InboxRows()
    var history = HistoryRows()
    var heldRows = HeldRows()
    var triage = TriageRows()

    init(writer: DossierBatchWriter, records: OutboundRecords, deadLetters: [DeadLetter]) {
        self.writer = writer
        self.records = records
        self.deadLetters = deadLetters
    }

    private var router: DossierRouter { writer.referenceData.router }
    private var calendar: WorkingCalendar { writer.referenceData.calendar }

    /// Applies an event unless its id was seen before (in the inbox or earlier in this batch).
    mutating func applyOnce(_ consumed: ConsumedEvent) -> EventOutcome {
        guard handled.insert(consumed.event.id).inserted else { return .duplicate }
        return apply(consumed, wasHeld: false)
    }

    /// The dossiers the batch changed, moved out of `dossiers`, which it leaves empty: call it once every event is
    /// applied. (A lazy map and filter over them copied each one three times.) The loop steps an index rather than
    /// iterating `values.indices`: that collection holds the dictionary, so the first move out copied all of it.
    mutating func takeChangedDossiers() -> [StoredDossier] {
        var changed: [StoredDossier] = []
        changed.reserveCapacity(dossiers.count)
        var index = dossiers.values.startIndex
        while index != dossiers.values.endIndex {
            if let dossier = dossiers.values[index].take(), dossier.isChanged { changed.append(dossier) }
            dossiers.values.formIndex(after: &index)
        }
        dossiers = [:]
        return changed
    }

    /// Events still held at the end of the batch are stored, to be released by a later batch or triaged.
    mutating func storeStillHeld() {
        for versions in held.values {
            for held in versions.values where !held.isStored {
                inbox.append(held.consumed, outcome: "held", reason: "version_gap")
                heldRows.new.append(held.consumed)
            }
        }
    }

    private mutating func record(_ consumed: ConsumedEvent, outcome: String, reason: String?, wasHeld: Bool) {
        if wasHeld {
            inbox.updates.append((consumed.event.id, outcome, reason))
        } else {
            inbox.append(consumed, outcome: outcome, reason: reason)
        }
    }

    private mutating func deadLetter(_ consumed: ConsumedEvent, errorClass: String, reason: String) {
        deadLetters.append(
            DeadLetter(
                topic: consumed.topic, partition: consumed.partition, offset: consumed.offset, key: consumed.key,
                value: consumed.bytes, errorClass: errorClass, reason: reason, consumedAt: consumed.consumedAt))
    }

    private mutating func apply(_ consumed: ConsumedEvent, wasHeld: Bool) -> EventOutcome {
        let event = consumed.event
        let code = event.subject.rawValue
        let index = dossiers.index(forKey: code)
        // Moved out of the dictionary (read in place there, each field read copied the whole dossier first). An
        // event that changes it moves it on and writes it back; on every other path it goes back as it was.
        var stored = index.flatMap { dossiers.values[$0].take() }
        defer { if let index, let unchanged = stored.take() { dossiers.values[index] = unchanged } }
        let storedState = stored?.state
        let dossierEvent = event.dossierEvent  // built by its getter: once, not at each use
        switch DossierStateMachine.apply(dossierEvent, to: storedState) {
        case .failure(.duplicate):
            record(consumed, outcome: "duplicate", reason: "duplicate_version", wasHeld: wasHeld)
            return .duplicate
        case .failure(.versionGap(_, let received)):
            guard held[code]?[received] == nil else {
                record(consumed, outcome: "duplicate", reason: "duplicate_version", wasHeld: wasHeld)
                return .duplicate
            }
            held[code, default: [:]][received] = HeldEvent(consumed: consumed, isStored: false)
            return .held
        case .failure(let rejection):
            record(consumed, outcome: "rejected", reason: rejection.reason, wasHeld: wasHeld)
            deadLetter(consumed, errorClass: "invalid_transition", reason: rejection.reason)
            return .rejected(rejection)
        case .success(let outcome):
            var profile = stored?.profile
            if case .opening(let opening) = event.data {
                profile = DossierProfile(
                    procedure: opening.procedure, commune: opening.commune, channel: opening.channel,
                    returnsByPost: opening.returnsByPost)
            }
            var state = outcome.state
            var destinations: [Destination] = []
            var triageCase: (reason: String, candidates: [CommuneCode])?
            if let profile, dossierEvent.change.isVersioned {
                let request = RoutingRequest(
                    dossier: state.code, procedure: profile.procedure, commune: profile.commune,
                    filedOn: state.code.date, returnsByPost: profile.returnsByPost, change: dossierEvent.change,
                    state: storedState)
                switch router.route(request) {
                case .rejected(let reason):
                    record(consumed, outcome: "rejected", reason: reason, wasHeld: wasHeld)
                    deadLetter(consumed, errorClass: "unroutable", reason: reason)
                    return .deadLettered(reason: reason)
                case .triage(let reason, let candidates):
                    triageCase = (reason, candidates)
                    state = state.routed(to: storedState?.holder ?? state.code.receivingAgency)
                    destinations = [.nationalPortal]
                case .routed(let holder, let routed):
                    state = state.routed(to: holder)
                    destinations = routed
                }
            }
            var dossier = stored.take() ?? StoredDossier(state: outcome.state)  // moved, not copied
            dossier.profile = profile
            runClock(&dossier, decisions: outcome.decisions, state: state, at: event.time, isNew: storedState == nil)
            appendHistory(&dossier, consumed: consumed, state: state)
            dossier.state = state
            queueRecords(
                for: dossier, event: event, decisions: outcome.decisions, destinations: destinations)
            var result = EventOutcome.applied(outcome)
            if let triageCase {
                result = .triaged(reason: triageCase.reason)
                if dossier.triageReason == nil {
                    dossier.triageReason = triageCase.reason
                    let candidates = triageCase.candidates.map(\.rawValue)
                    triage.append(dossier: code, eventID: event.id, reason: triageCase.reason, candidates: candidates)
                    outbox.append(
                        records.triage(
                            code: code, eventID: event.id, reason: triageCase.reason, candidates: candidates,
                            at: event.time))
                }
            }
            record(
                consumed, outcome: triageCase == nil ? "applied" : "triaged", reason: triageCase?.reason,
                wasHeld: wasHeld)
            if let index { dossiers.values[index] = dossier } else { dossiers[code] = dossier }
            releaseHeld(after: dossier.state.version, of: code)
            return result
        }
    }

    /// Applies events held for `code` whose version now follows, in version order.
    private mutating func releaseHeld(after version: Int64, of code: String) {
        // Read before modifying: the modify accessor of a dictionary's subscript allocates its coroutine frame,
        // on every call, and nearly every event finds nothing held (nor does it hash the code then).
        guard !held.isEmpty, held[code]?[version + 1] != nil, let next = held[code]?.removeValue(forKey: version + 1)
        else { return }
        if next.isStored { heldRows.removed.append(next.consumed.event.id) }
        handled.insert(next.consumed.event.id)
        _ = apply(next.consumed, wasHeld: next.isStored)
    }

    private func runClock(
        _ dossier: inout StoredDossier, decisions: [DossierDecision], state: DossierState, at time: Date, isNew: Bool
    ) {
        if isNew && state.status == .submittedOnline { dossier.submittedAt = time }
        let procedure = dossier.profile.flatMap { router.catalogue.procedure($0.procedure) }
        for decision in decisions {
            switch decision {
            case .startClock:
                guard let profile = dossier.profile, let procedure else { continue }
                dossier.clock = SLAClock(
                    startedAt: time, duration: procedure.duration(online: profile.channel == .online),
                    calendar: calendar)
                dossier.stepDueAt = procedure.stepDue(state.step, startingAt: time, calendar: calendar)
            case .stepChanged(_, let step):
                guard let procedure, dossier.clock != nil, dossier.resolvedAt == nil else { continue }
                dossier.stepDueAt = procedure.stepDue(step, startingAt: time, calendar: calendar)
            case .pauseClock:
                try? dossier.clock?.pause(at: time)
            case .pauseClockForFees:
                guard procedure?.paymentPausesClock == true else { continue }
                try? dossier.clock?.pause(at: time)
            case .resumeClockAfterFees:
                resume(&dossier, at: time, policy: .extendByPausedTime)
            case .resumeClock:
                if dossier.resolvedAt != nil {  // the audited 9 → 4 recall reopens the dossier
                    dossier.resolvedAt = nil
                    dossier.onTimeClass = nil
                }
                let province = router.agencies.agency(state.code.receivingAgency)?.province
                resume(
                    &dossier, at: time,
                    policy: province.flatMap { writer.resumePolicyByProvince[$0] } ?? writer.resumePolicy)
            case .stopClock:
                guard dossier.resolvedAt == nil else { continue }
                dossier.resolvedAt = time
                if state.status == .resolved || state.status == .resultReturned {
                    dossier.onTimeClass = dossier.clock?.onTimeClass(resolvedAt: time, calendar: calendar)
                }
            case .resetDueDate(let due):
                try? dossier.clock?.resetDue(to: due, at: time)
            case .statusChanged, .holderChanged, .syncWithPortal, .auditedRecall:
                continue
            }
        }
    }

    /// Resumes a paused clock under `policy`; the current step's deadline moves by the working time the clock
    /// counted as paused.
    private func resume(_ dossier: inout StoredDossier, at time: Date, policy: SLAResumePolicy) {
        guard var clock = dossier.clock, clock.isPaused else { return }
        let pausedBefore = clock.pausedWorkingSeconds
        guard (try? clock.resume(at: time, policy: policy, calendar: calendar)) != nil else { return }
        dossier.clock = clock
        if let stepDue = dossier.stepDueAt {
            dossier.stepDueAt = calendar.adding(workingSeconds: clock.pausedWorkingSeconds - pausedBefore, to: stepDue)
        }
    }

    private mutating func appendHistory(_ dossier: inout StoredDossier, consumed: ConsumedEvent, state: DossierState) {
        let event = consumed.event
        let auditRecord = AuditRecord(
            dossier: event.subject.rawValue, sequence: dossier.sequence + 1, version: event.dossierVersion ?? 0,
            eventID: event.id, eventType: event.type.rawValue, status: state.status.rawValue,
            occurredAtMilliseconds: Int64((event.time.timeIntervalSince1970 * 1000).rounded()),
            payloadDigest: AuditChain.digest(consumed.bytes))
        let hash = AuditChain.hash(auditRecord, previous: dossier.lastHash)
        history.append(auditRecord, previous: dossier.lastHash, hash: hash)
        dossier.sequence = auditRecord.sequence
        dossier.lastHash = hash
    }

    private mutating func queueRecords(
        for dossier: StoredDossier, event: InboundEvent, decisions: [DossierDecision], destinations: [Destination]
    ) {
        let state = dossier.state
        let dueAt = dossier.clock?.dueAt
        var statusChanged = false
        for case .statusChanged(let transition) in decisions {
            statusChanged = true
            outbox.append(
                records.statusChange(
                    state, transition: transition, at: event.time, dueAt: dueAt,
                    onTimeClass: state.status == .resolved ? dossier.onTimeClass : nil,
                    correlationID: event.correlationID))
        }
        guard let procedure = dossier.profile?.procedure else { return }
        for destination in destinations {
            let work: (AgencyID, WorkAction, Int?)? =
                switch destination {
                case .competentUnit(let unit): (unit, .process, nil)
                case .processingStep(let unit, let step): (unit, .processStep, step)
                case .receivingPoint(let unit): (unit, state.status == .resolved ? .returnResult : .notify, nil)
                case .nationalPortal, .monitoring, .applicantByPost: nil
                }
            if let (unit, action, step) = work, let agency = router.agencies.agency(unit) {
                outbox.append(
                    records.workItem(
                        state, destination: agency, action: action, step: step, procedure: procedure, dueAt: dueAt,
                        at: event.time, correlationID: event.correlationID))
            }
            if destination == .nationalPortal {
                let unit = state.holder ?? state.code.receivingAgency
                outbox.append(
                    records.portalSync(
                        state, statusChanged: statusChanged, procedure: procedure, unit: unit,
                        step: router.agencies.agency(unit)?.name, dueAt: dueAt, at: event.time,
                        correlationID: event.correlationID))
            }
        }
    }
}
