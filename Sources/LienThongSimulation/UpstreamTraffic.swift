public import Foundation
import HeapModule
public import LienThongDomain

/// What the simulated province sends and how much of it.
public struct TrafficProfile: Sendable {
    /// New dossiers per working hour across the province (Hanoi: about 9,000 a working day). Default: 600.
    public var dossiersPerWorkingHour = 600.0
    /// Share filed online (Hanoi, September 2025: 96 %). Default: 0.96.
    public var onlineShare = 0.96
    /// Share naming a pre-merger commune. Default: 0.03.
    public var preMergerShare = 0.03
    /// Share that needs a supplement (clock paused). Default: 0.06.
    public var supplementShare = 0.06
    /// Share withdrawn by the applicant. Default: 0.02.
    public var withdrawalShare = 0.02
    /// Share resolved after the due date. Default: 0.01.
    public var lateShare = 0.01
    /// Share of events an upstream system sends twice. Default: 0.01.
    public var duplicateShare = 0.01
    /// Malformed records per dossier. Default: 0.002.
    public var malformedShare = 0.002
    /// Share of portal sync records the portal fails to accept at first. Default: 0.005.
    public var portalFailureShare = 0.005

    public init() {}
}

/// One record for the inbound topic.
public struct SimulatedRecord: Sendable {
    /// The Kafka key (the dossier code).
    public let key: String
    /// The Kafka value.
    public let value: [UInt8]
}

/// The simulated upstream systems of Hanoi: commune and ward points and the service centre's branches receive
/// dossiers (online around the clock, at the counter in office hours, with morning and Monday peaks), units process
/// them along their procedure's chain, ask for supplements, resolve and return results, applicants withdraw, some
/// systems re-send events or send garbage, and a national-portal stand-in acknowledges sync records. Time is a
/// parameter: a driver advances it as fast as it likes.
public struct UpstreamTraffic: Sendable {
    private struct Scheduled: Comparable, Sendable {
        let at: Date
        let order: Int
        let record: SimulatedRecord
        static func < (lhs: Scheduled, rhs: Scheduled) -> Bool { (lhs.at, lhs.order) < (rhs.at, rhs.order) }
        static func == (lhs: Scheduled, rhs: Scheduled) -> Bool { lhs.order == rhs.order }
    }

    private struct ReceivingPoint: Sendable {
        let agency: AgencyID
        let commune: CommuneCode?
    }

    private let calendar: WorkingCalendar
    private let catalogue: ProcedureCatalogue
    private let profile: TrafficProfile
    private var random: SeededGenerator
    private let points: [ReceivingPoint]
    private let communes: [CommuneCode]
    private let preMergerCommunes: [CommuneCode]
    private let proceduresByLevel: [CompetentLevel: [Procedure]]
    private var pending = Heap<Scheduled>()
    private var order = 0
    private var clock: Date
    private var sequences: [String: Int] = [:]
    /// Dossiers created so far.
    public private(set) var dossiersCreated = 0

    /// A simulation starting at `start`.
    public init(
        referenceData router: DossierRouter, calendar: WorkingCalendar, profile: TrafficProfile, seed: UInt64,
        start: Date
    ) {
        self.calendar = calendar
        self.catalogue = router.catalogue
        self.profile = profile
        self.random = SeededGenerator(seed: seed)
        self.clock = start
        let hanoi = try! ProvinceCode("01")
        let agencies = router.agencies.agencies.values.sorted { $0.id.rawValue < $1.id.rawValue }
        points =
            agencies.filter { $0.type == "commune_people_committee" }.map {
                ReceivingPoint(agency: $0.id, commune: $0.commune)
            }
            + agencies.filter { $0.type == "service_center_branch" }.map { ReceivingPoint(agency: $0.id, commune: nil) }
        communes = router.units.units(in: hanoi).map(\.code).sorted { $0.rawValue < $1.rawValue }
        preMergerCommunes = router.succession.successors
            .filter { old, successors in
                !router.succession.currentCodes.contains(old)
                    && successors.allSatisfy { router.units.unit($0)?.province == hanoi }
            }
            .keys.sorted { $0.rawValue < $1.rawValue }
        proceduresByLevel = Dictionary(grouping: router.catalogue.procedures.values, by: \.level)
            .mapValues { $0.sorted { $0.code.rawValue < $1.code.rawValue } }
    }

    /// Advances simulated time to `now` and returns the records due by then, in time order.
    public mutating func advance(to now: Date) -> [SimulatedRecord] {
        while clock < now {
            let slice = min(60, now.timeIntervalSince(clock))
            let arrivals = random.poisson(mean: arrivalRate(at: clock) * slice / 3600)
            for _ in 0..<arrivals {
                createDossier(at: clock.addingTimeInterval(Double.random(in: 0..<slice, using: &random)))
            }
            clock = clock.addingTimeInterval(slice)
        }
        var due: [SimulatedRecord] = []
        while let next = pending.min, next.at <= now {
            due.append(pending.removeMin().record)
        }
        return due
    }

    /// Records scheduled but not yet due.
    public var scheduledCount: Int { pending.count }

    /// The portal stand-in's answer to one `portal.sync` record: an acknowledgement (rarely a failure, followed by
    /// the acknowledgement a little later).
    public mutating func answerPortalSync(_ payload: [UInt8], at now: Date) -> [SimulatedRecord] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let dossier = object["maHoSo"] as? String, let version = object["version"] as? Int,
            let code = try? DossierCode(dossier)
        else { return [] }
        let source = code.receivingAgency.rawValue
        if random.chance(profile.portalFailureShare) {
            schedule(
                event(
                    id: "portal-ack-\(dossier)-\(version)", type: "portal.sync-acknowledged", dossier: dossier,
                    version: nil, source: source, at: now.addingTimeInterval(600), data: #"{"version":\#(version)}"#),
                at: now.addingTimeInterval(600))
            return [
                event(
                    id: "portal-fail-\(dossier)-\(version)", type: "portal.sync-failed", dossier: dossier, version: nil,
                    source: source, at: now, data: #"{"reason":"portal busy"}"#)
            ]
        }
        return [
            event(
                id: "portal-ack-\(dossier)-\(version)", type: "portal.sync-acknowledged", dossier: dossier,
                version: nil, source: source, at: now, data: #"{"version":\#(version)}"#)
        ]
    }

    /// Dossiers per hour at `instant`: office-hour peaks, a Monday-morning surge, online filings at night.
    func arrivalRate(at instant: Date) -> Double {
        let date = calendar.localDate(of: instant)
        let localSeconds = Int(instant.timeIntervalSince1970) + calendar.officeHours.utcOffsetSeconds
        let hour = Double(((localSeconds % 86_400) + 86_400) % 86_400) / 3600
        let base = profile.dossiersPerWorkingHour
        guard calendar.isWorkingDay(date) else { return base * 0.08 }
        let isMonday = date.weekday == 1
        switch hour {
        case 7..<10: return base * (isMonday ? 2.2 : 1.5)
        case 10..<11.5: return base * (isMonday ? 1.4 : 1.1)
        case 11.5..<13.5: return base * 0.35
        case 13.5..<15.5: return base * 1.2
        case 15.5..<17: return base * 0.9
        case 6..<7, 17..<23: return base * 0.25
        default: return base * 0.06
        }
    }

    private mutating func schedule(_ record: SimulatedRecord, at instant: Date) {
        order += 1
        pending.insert(Scheduled(at: instant, order: order, record: record))
    }

    private mutating func createDossier(at filedAt: Date) {
        let online = random.chance(profile.onlineShare) || !isOfficeHours(filedAt)
        let point = points.randomElement(using: &random)!
        let level: CompetentLevel =
            switch Double.random(in: 0..<1, using: &random) {
            case ..<0.72: .commune
            case ..<0.92: .department
            default: .ministryAgency
            }
        let procedure = proceduresByLevel[level]!.randomElement(using: &random)!
        let day = calendar.localDate(of: filedAt)
        let dayKey = "\(point.agency.rawValue)|\(day)"
        let sequence = (sequences[dayKey] ?? 0) + 1
        sequences[dayKey] = sequence
        guard sequence <= 9999 else { return }
        dossiersCreated += 1
        let code =
            "\(point.agency.rawValue)-\(String(day.year % 100).padded(2))\(String(day.month).padded(2))"
            + "\(String(day.day).padded(2))-\(String(sequence).padded(4))"
        let commune =
            random.chance(profile.preMergerShare) && !preMergerCommunes.isEmpty
            ? preMergerCommunes.randomElement(using: &random)!
            : point.commune ?? communes.randomElement(using: &random)!
        let opening =
            #"{"procedure":"\#(procedure.code.rawValue)","commune":"\#(commune.rawValue)","#
            + #""channel":"\#(online ? "online" : "counter")","applicant":{"name":"\#(Self.names.randomElement(using: &random)!)"}}"#
        var plan = DossierPlan(code: code, source: point.agency.rawValue)

        var time = filedAt
        if online {
            plan.add("dossier.submitted", opening, at: time)
            let wait =
                random.chance(0.02)
                ? Double.random(in: 9...14, using: &random) : Double.random(in: 0.3...5, using: &random)
            time = calendar.adding(workingSeconds: Int64(wait * 3600), to: time)
        }
        plan.add("dossier.received", opening, at: time)
        let received = time
        let due = procedure.duration(online: online).due(from: received, calendar: calendar)
        let span = max(3600, calendar.workingSeconds(from: received, to: due))
        time = calendar.adding(
            workingSeconds: Int64(Double.random(in: 0.02...0.1, using: &random) * Double(span)), to: time)
        plan.add("dossier.status-changed", #"{"status":4}"#, at: time)
        if random.chance(profile.withdrawalShare) {
            time = calendar.adding(workingSeconds: Int64(Double(span) * 0.2), to: time)
            plan.add("dossier.status-changed", #"{"status":7,"reason":"applicant withdrew"}"#, at: time)
            finish(plan)
            return
        }
        var paused: Int64 = 0
        if random.chance(profile.supplementShare) {
            time = calendar.adding(workingSeconds: Int64(Double(span) * 0.15), to: time)
            plan.add("dossier.status-changed", #"{"status":5,"reason":"missing document"}"#, at: time)
            paused = Int64(Double.random(in: 0.5...3, using: &random) * 8 * 3600)
            time = calendar.adding(workingSeconds: paused, to: time)
            plan.add("dossier.supplement-submitted", "{}", at: time)
            time = time.addingTimeInterval(300)
            plan.add("dossier.status-changed", #"{"status":4}"#, at: time)
        }
        let late = random.chance(profile.lateShare)
        let fraction =
            late ? Double.random(in: 1.05...1.5, using: &random) : Double.random(in: 0.25...0.9, using: &random)
        let resolvedAt = calendar.adding(workingSeconds: Int64(fraction * Double(span)) + paused, to: received)
        for step in procedure.steps.indices.dropFirst() {
            let at = calendar.adding(
                workingSeconds: Int64(Double(step) / Double(procedure.steps.count) * fraction * Double(span)),
                to: received)
            plan.add("dossier.step-changed", #"{"step":\#(step)}"#, at: max(at, time.addingTimeInterval(60)))
            time = max(at, time.addingTimeInterval(60))
        }
        time = max(resolvedAt, time.addingTimeInterval(60))
        plan.add("dossier.result-attached", #"{"documentId":"KQ-\#(sequence)"}"#, at: time)
        time = time.addingTimeInterval(120)
        plan.add("dossier.status-changed", #"{"status":9}"#, at: time)
        time = calendar.adding(workingSeconds: Int64(Double.random(in: 0.3...2, using: &random) * 8 * 3600), to: time)
        plan.add("dossier.status-changed", #"{"status":10}"#, at: time)
        finish(plan)
    }

    private mutating func finish(_ plan: DossierPlan) {
        for (index, step) in plan.steps.enumerated() {
            let record = event(
                id: "\(plan.code)-v\(index + 1)", type: step.type, dossier: plan.code, version: index + 1,
                source: plan.source, at: step.at, data: step.data)
            schedule(record, at: step.at)
            if random.chance(profile.duplicateShare) {
                schedule(record, at: step.at.addingTimeInterval(Double.random(in: 5...600, using: &random)))
            }
        }
        if random.chance(profile.malformedShare * 100) && random.chance(0.01), let first = plan.steps.first {
            let garbage: [UInt8] = Array(#"{"specversion":"1.0","id":"broken-\#(plan.code)","type":"#.utf8)
            schedule(SimulatedRecord(key: plan.code, value: garbage), at: first.at.addingTimeInterval(30))
        }
    }

    private func isOfficeHours(_ instant: Date) -> Bool {
        let date = calendar.localDate(of: instant)
        guard calendar.isWorkingDay(date) else { return false }
        let localSeconds = (Int(instant.timeIntervalSince1970) + calendar.officeHours.utcOffsetSeconds) % 86_400
        return calendar.officeHours.periods.contains {
            localSeconds / 60 >= $0.startMinute && localSeconds / 60 < $0.endMinute
        }
    }

    private func event(
        id: String, type: String, dossier: String, version: Int?, source: String, at time: Date, data: String
    ) -> SimulatedRecord {
        var json =
            #"{"specversion":"1.0","id":"\#(id)","source":"/agencies/\#(source)","type":"vn.gov.lienthong.\#(type)","#
        json += #""time":"\#(Self.timestamp(time))","subject":"\#(dossier)","#
        if let version { json += #""dossierversion":\#(version),"# }
        json += #""produceragency":"\#(source)","correlationid":"\#(dossier)","data":\#(data)}"#
        return SimulatedRecord(key: dossier, value: Array(json.utf8))
    }

    private static func timestamp(_ instant: Date) -> String {
        let local = Int(instant.timeIntervalSince1970) + 7 * 3600
        let day = CivilDate(daysSinceEpoch: local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let seconds = local - day.daysSinceEpoch * 86_400
        return "\(day)T\(String(seconds / 3600).padded(2)):\(String(seconds / 60 % 60).padded(2)):"
            + "\(String(seconds % 60).padded(2))+07:00"
    }

    private static let names = [
        "Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Thu Dung", "Hoàng Đức Em", "Vũ Thị Giang",
        "Đặng Quốc Huy", "Bùi Thanh Hương", "Đỗ Ngọc Khánh", "Ngô Bảo Long", "Dương Mỹ Linh", "Lý Hoài Nam",
    ]
}

/// The events one dossier will send, in version order.
private struct DossierPlan {
    let code: String
    let source: String
    var steps: [(type: String, data: String, at: Date)] = []

    mutating func add(_ type: String, _ data: String, at instant: Date) {
        steps.append((type, data, instant))
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
