import Foundation
import LienThongDomain
import Testing

private let conversion = referenceData("admin-units/nso-conversion-2025-07.csv")
private let directory = try! AdministrativeUnitDirectory(
    unitsJSON: referenceData("admin-units/units-2025-07.json"), conversionCSV: conversion)
private let succession = SuccessionTable(conversionCSV: conversion)
private let beforeMerger = CivilDate(year: 2025, month: 6, day: 20)!
private let afterMerger = CivilDate(year: 2025, month: 7, day: 2)!

@Suite("Unit directory and succession over the official tables")
struct DirectoryTests {
    @Test func theDirectoryHoldsEveryUnitWithItsProvince() throws {
        #expect(directory.units.count == 3321)
        let hanoi = try ProvinceCode("01")
        #expect(directory.units(in: hanoi).count == 126)
        let baDinh = try #require(directory.unit(try CommuneCode("00004")))
        #expect(baDinh.name == "Phường Ba Đình" && baDinh.province == hanoi)
        #expect(Set(directory.units.values.map(\.province)).count == 34)
    }

    @Test func everyPreMergerCommuneResolvesToASuccessorOrToTriage() {
        var successors = 0
        var triage = 0
        for old in succession.successors.keys {
            switch succession.resolve(old, filedOn: beforeMerger, directory: directory) {
            case .current(let code), .successor(let code):
                #expect(directory.unit(code) != nil, "\(old) → \(code) must be a unit in force")
                successors += 1
            case .needsTriage(let candidates):
                #expect(candidates.count > 1 && candidates.allSatisfy { directory.unit($0) != nil })
                triage += 1
            case .unknown:
                Issue.record("old commune \(old) did not resolve")
            }
        }
        #expect(successors + triage == 10_033)
        #expect(triage == 441)
    }

    @Test func aReusedCodeIsReadByTheFilingDate() throws {
        // 00004 was Phường Trúc Bạch before the merger and is Phường Ba Đình since.
        let code = try CommuneCode("00004")
        #expect(succession.resolve(code, filedOn: beforeMerger, directory: directory) == .current(code))
        #expect(succession.resolve(code, filedOn: afterMerger, directory: directory) == .current(code))
        // Phường Quán Thánh (00013) was absorbed whole into Ba Đình.
        #expect(
            succession.resolve(try CommuneCode("00013"), filedOn: beforeMerger, directory: directory)
                == .successor(code))
        #expect(
            succession.resolve(try CommuneCode("00013"), filedOn: afterMerger, directory: directory) == .successor(code)
        )
        #expect(succession.resolve(try CommuneCode("99999"), filedOn: afterMerger, directory: directory) == .unknown)
    }

    @Test func aSplitCommuneNeedsTriageWithItsCandidates() throws {
        // Phường Cống Vị (00007) was split between Ngọc Hà (00008) and Giảng Võ (00025).
        let outcome = succession.resolve(try CommuneCode("00007"), filedOn: beforeMerger, directory: directory)
        #expect(outcome == .needsTriage(candidates: [try CommuneCode("00008"), try CommuneCode("00025")]))
        // Phường Phúc Xá (00001) went whole to Hồng Hà (00097).
        #expect(
            succession.resolve(try CommuneCode("00001"), filedOn: beforeMerger, directory: directory)
                == .successor(try CommuneCode("00097")))
    }
}
