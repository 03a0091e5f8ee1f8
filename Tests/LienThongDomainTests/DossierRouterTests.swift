import Foundation
import LienThongDomain
import Testing

private let conversion = referenceData("admin-units/nso-conversion-2025-07.csv")
private let catalogue = try! ProcedureCatalogue(json: referenceData("catalogue/procedures.json"))
private let agencies = try! AgencyDirectory(json: [referenceData("agencies/hanoi.json")])
private let router = DossierRouter(
    catalogue: catalogue, agencies: agencies,
    units: try! AdministrativeUnitDirectory(
        unitsJSON: referenceData("admin-units/units-2025-07.json"), conversionCSV: conversion),
    succession: SuccessionTable(conversionCSV: conversion))

private let hanoi = try! ProvinceCode("01")
private func agency(_ type: String, commune: String? = nil) -> AgencyID {
    agencies.agency(type: type, province: hanoi, commune: commune.map { try! CommuneCode($0) })!.id
}
private let baDinh = agency("commune_people_committee", commune: "00004")
private let afterMerger = CivilDate(year: 2025, month: 7, day: 2)!

private func request(
    _ procedure: String, at point: AgencyID = baDinh, commune: String = "00004", filedOn: CivilDate = afterMerger,
    byPost: Bool = false, _ change: DossierChange
) -> RoutingRequest {
    RoutingRequest(
        dossier: try! DossierCode("\(point.rawValue)-250702-0001"), procedure: try! ProcedureCode(procedure),
        commune: try! CommuneCode(commune), filedOn: filedOn, returnsByPost: byPost, change: change, state: nil)
}

@Suite("Routing over the catalogue and Hanoi's agencies")
struct DossierRouterTests {
    @Test func theCatalogueIsRealisticData() {
        #expect(catalogue.procedures.count >= 30)
        #expect(Set(catalogue.procedures.values.map(\.level)) == Set(CompetentLevel.allCases))
        #expect(catalogue.procedures.values.contains { $0.steps.count >= 3 })
        let fields = ["civil_status", "residence", "land", "construction", "business_registration", "social_welfare"]
        #expect(Set(fields).isSubset(of: Set(catalogue.procedures.values.map(\.field))))
        #expect(catalogue.procedures.values.allSatisfy { !$0.name.isEmpty })
        for procedure in catalogue.procedures.values {
            for type in [procedure.competentUnitType] + procedure.steps.map(\.unitType) {
                #expect(
                    agencies.agency(type: type, province: hanoi, commune: try! CommuneCode("00004")) != nil,
                    "\(type) exists in Hanoi")
            }
        }
        #expect(
            catalogue.procedure(try! ProcedureCode("1.001776.000.00.00.H26"))?.steps.count == 3,
            "a local variant maps to the national code")
    }

    @Test func eachStepOfAChainHasItsOwnDeadlineAndASingleStepNone() throws {
        let calendar = WorkingCalendar(
            holidays: try HolidayCalendar(csv: referenceData("calendar/vn-public-holidays-2025-2027.csv")))
        let chain = try #require(catalogue.procedure(try ProcedureCode("1.001776")))  // 1, 4 and 2 working days
        // Wednesday 2 July 2025, 08:11 in Hanoi.
        let start = Date(timeIntervalSince1970: 1_751_418_660)
        for step in chain.steps.indices {
            #expect(
                chain.stepDue(step, startingAt: start, calendar: calendar)
                    == chain.steps[step].duration.due(from: start, calendar: calendar))
        }
        #expect(
            chain.stepDue(1, startingAt: start, calendar: calendar)
                == StatutoryDuration.workingDays(4).due(from: start, calendar: calendar))
        #expect(chain.stepDue(3, startingAt: start, calendar: calendar) == nil, "outside the chain")
        #expect(chain.stepDue(-1, startingAt: start, calendar: calendar) == nil)
        let single = try #require(catalogue.procedure(try ProcedureCode("1.001193")))
        #expect(single.stepDue(0, startingAt: start, calendar: calendar) == nil, "the dossier's deadline is the step's")
    }

    @Test func aCommuneProcedureStaysWithTheCommuneAndReturnsToIt() {
        #expect(
            router.route(request("1.001193", .status(.received)))
                == .routed(holder: baDinh, destinations: [.competentUnit(baDinh), .nationalPortal, .monitoring]))
        #expect(
            router.route(request("1.001193", .status(.resolved)))
                == .routed(holder: baDinh, destinations: [.receivingPoint(baDinh), .nationalPortal, .monitoring]))
    }

    @Test func aDepartmentProcedureGoesToTheDepartmentAndComesBack() {
        let justice = agency("department_justice")
        #expect(
            router.route(request("2.001837", .status(.received)))
                == .routed(holder: justice, destinations: [.competentUnit(justice), .nationalPortal, .monitoring]))
        #expect(
            router.route(request("2.001837", .status(.resolved)))
                == .routed(holder: baDinh, destinations: [.receivingPoint(baDinh), .nationalPortal, .monitoring]))
    }

    @Test func aMultiStepChainVisitsEachUnitInOrder() {
        let police = agency("commune_police", commune: "00004")
        let insurance = agency("social_insurance")
        #expect(
            router.route(request("1.001776", .stepChanged(to: 1)))
                == .routed(
                    holder: police, destinations: [.processingStep(police, step: 1), .nationalPortal, .monitoring]))
        #expect(
            router.route(request("1.001776", .stepChanged(to: 2)))
                == .routed(
                    holder: insurance,
                    destinations: [.processingStep(insurance, step: 2), .nationalPortal, .monitoring]))
        #expect(router.route(request("1.001776", .stepChanged(to: 3))) == .rejected(reason: "step_out_of_range"))
    }

    @Test func aMinistryAgencyProcedureGoesToTheVerticalAgency() {
        let landRegistry = agency("land_registry_office")
        guard case .routed(let holder, _) = router.route(request("1.012768", .status(.received))) else {
            Issue.record("expected a route")
            return
        }
        #expect(holder == landRegistry)
    }

    @Test func postalReturnSendsTheResultToTheApplicant() {
        #expect(
            router.route(request("2.001837", byPost: true, .status(.resolved)))
                == .routed(holder: baDinh, destinations: [.applicantByPost, .nationalPortal, .monitoring]))
    }

    @Test func aPreMergerCommuneIsRoutedToItsSuccessorOrToTriage() {
        let before = CivilDate(year: 2025, month: 6, day: 20)!
        // Quán Thánh (00013) was absorbed whole into Ba Đình (00004).
        guard
            case .routed(let holder, _) = router.route(
                request("1.001193", commune: "00013", filedOn: before, .status(.received)))
        else {
            Issue.record("expected a route")
            return
        }
        #expect(holder == baDinh)
        // Cống Vị (00007) was split: a person chooses.
        #expect(
            router.route(request("1.001193", commune: "00007", filedOn: before, .status(.received)))
                == .triage(
                    reason: "split_pre_merger_unit", candidates: [try! CommuneCode("00008"), try! CommuneCode("00025")])
        )
    }

    @Test func receivedAnywhereInTheProvinceRoutedToWhoeverIsCompetent() {
        let branch = try! AgencyID("000.05.90.H26")
        let ngocHa = agency("commune_people_committee", commune: "00008")
        #expect(
            router.route(request("1.001193", at: branch, commune: "00008", .status(.received)))
                == .routed(holder: ngocHa, destinations: [.competentUnit(ngocHa), .nationalPortal, .monitoring]))
        #expect(
            router.route(request("1.001193", at: branch, commune: "00008", .status(.resolved)))
                == .routed(holder: branch, destinations: [.receivingPoint(branch), .nationalPortal, .monitoring]))
    }

    @Test func unknownProceduresAndUnitsAreRejectedWithAReason() {
        #expect(router.route(request("9.999999", .status(.received))) == .rejected(reason: "unknown_procedure"))
        #expect(
            router.route(request("1.001193", commune: "99999", .status(.received))) == .rejected(reason: "unknown_unit")
        )
        // 00001 (Phúc Xá) is not a unit in force: a dossier filed after the merger with it resolves to Hồng Hà;
        // a Hồ Chí Minh City commune is outside Hanoi.
        #expect(
            router.route(request("1.001193", commune: "26734", .status(.received)))
                == .rejected(reason: "unit_outside_province"))
    }
}
