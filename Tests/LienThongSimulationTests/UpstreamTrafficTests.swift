import Foundation
import LienThongDomain
import LienThongSimulation
import LienThongWorker
import Testing

private let referenceData = try! ReferenceData.load(
    directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Schemas/reference-data").path)
/// Monday 6 October 2025, 07:00 in Hanoi.
private let mondayMorning = ISO8601DateFormatter().date(from: "2025-10-06T07:00:00+07:00")!
private let decoder = InboundEventDecoder()

private func traffic(seed: UInt64 = 7) -> UpstreamTraffic {
    UpstreamTraffic(
        referenceData: referenceData.router, calendar: referenceData.calendar, profile: TrafficProfile(), seed: seed,
        start: mondayMorning)
}

@Suite("Simulated upstream traffic of Hanoi")
struct UpstreamTrafficTests {
    @Test func twoDaysOfTrafficAreValidOrderedAndShapedLikeHanoi() {
        var simulation = traffic()
        let records = simulation.advance(to: mondayMorning.addingTimeInterval(2 * 86_400))
        var events: [InboundEvent] = []
        var malformed = 0
        for record in records {
            switch decoder.decode(record.value) {
            case .success(let event): events.append(event)
            case .failure: malformed += 1
            }
        }
        #expect(simulation.dossiersCreated > 5_000)
        #expect(malformed > 0 && malformed < simulation.dossiersCreated / 100, "a few malformed records")

        // Unique events per dossier come with consecutive versions from 1, in order of sending.
        var firstSeen: [String: InboundEvent] = [:]
        var versions: [String: [Int64]] = [:]
        for event in events where firstSeen[event.id] == nil {
            firstSeen[event.id] = event
            if let version = event.dossierVersion { versions[event.subject.rawValue, default: []].append(version) }
        }
        #expect(versions.values.allSatisfy { $0 == Array(1...Int64($0.count)) })
        let resent = events.count - firstSeen.count
        #expect(resent > 0, "upstream systems re-send some events")

        let openings = firstSeen.values.filter { $0.dossierVersion == 1 }
        let online = openings.filter { $0.type == .submitted }.count
        let share = Double(online) / Double(openings.count)
        #expect(share > 0.94 && share < 0.99, "about 96 % online: \(share)")
        let preMerger = openings.filter { event in
            guard case .opening(let opening) = event.data else { return false }
            return !referenceData.router.succession.currentCodes.contains(opening.commune)
        }
        #expect(!preMerger.isEmpty, "some dossiers name a pre-merger commune")
        let routedOrTriaged = openings.prefix(500).filter { event in
            guard case .opening(let opening) = event.data else { return false }
            let request = RoutingRequest(
                dossier: event.subject, procedure: opening.procedure, commune: opening.commune,
                filedOn: event.subject.date, change: event.dossierEvent.change, state: nil)
            if case .rejected = referenceData.router.route(request) { return false }
            return true
        }
        #expect(routedOrTriaged.count == min(500, openings.count), "every simulated dossier can be routed or triaged")
    }

    @Test func mondayMorningIsTheBusiestTimeAndNightsAreQuiet() {
        var simulation = traffic()
        let morning = simulation.advance(to: mondayMorning.addingTimeInterval(3 * 3600)).count
        var night = traffic(seed: 8)
        let midnight = mondayMorning.addingTimeInterval(17 * 3600)
        _ = night.advance(to: midnight)
        let before = night.scheduledCount
        _ = night.advance(to: midnight.addingTimeInterval(3 * 3600))
        #expect(morning > 0)
        #expect(night.scheduledCount - before < morning / 4, "few filings at night")
    }

    @Test func theSameSeedReplaysTheSameTraffic() {
        var first = traffic(seed: 42)
        var second = traffic(seed: 42)
        let end = mondayMorning.addingTimeInterval(86_400)
        #expect(first.advance(to: end).map(\.value) == second.advance(to: end).map(\.value))
    }

    @Test func thePortalStandInAcknowledgesSyncRecords() throws {
        var simulation = traffic()
        let record =
            #"{"kind":"create_or_update","maHoSo":"001.00.80.H26-251006-0001","maTTHC":"1.001193","trangThaiHoSo":2,"thoiDiem":"20251006081100","donViXuLy":"001.00.80.H26","version":2}"#
        var answers: [SimulatedRecord] = []
        for _ in 0..<50 { answers += simulation.answerPortalSync(Array(record.utf8), at: mondayMorning) }
        let events = try answers.map { try decoder.decode($0.value).get() }
        #expect(
            events.contains { $0.type == .portalSyncAcknowledged && $0.data == .portalSyncAcknowledged(version: 2) })
        #expect(simulation.answerPortalSync(Array("not json".utf8), at: mondayMorning).isEmpty)
    }
}
