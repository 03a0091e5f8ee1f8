import Foundation
public import LienThongDomain

/// The tables the worker decides with, loaded once at start-up from a reference-data directory
/// (`Schemas/reference-data/` in this repository): units and the 2025 conversion table, agencies, the procedure
/// catalogue and the holiday calendar.
public struct ReferenceData: Sendable {
    /// Routes dossiers over the catalogue, agencies, units and succession table.
    public let router: DossierRouter
    /// Working time for deadlines (office hours are the national default; the calendar holds every listed year).
    public let calendar: WorkingCalendar

    /// Creates reference data from tables already loaded.
    public init(router: DossierRouter, calendar: WorkingCalendar) {
        self.router = router
        self.calendar = calendar
    }

    /// Loads every table from `directory`.
    /// - Throws: ``ReferenceDataError`` naming the file that is missing or malformed.
    public static func load(directory: String) throws(ReferenceDataError) -> ReferenceData {
        func read(_ path: String) throws(ReferenceDataError) -> String {
            do {
                return try String(contentsOfFile: directory + "/" + path, encoding: .utf8)
            } catch {
                throw ReferenceDataError(source: path, reason: "cannot be read from \(directory)")
            }
        }
        func files(in folder: String, ending suffix: String) throws(ReferenceDataError) -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []
            let matching = names.filter { $0.hasSuffix(suffix) }.sorted()
            guard !matching.isEmpty else {
                throw ReferenceDataError(source: folder, reason: "no \(suffix) file in \(directory)/\(folder)")
            }
            return matching.map { folder + "/" + $0 }
        }
        let conversion = try read("admin-units/nso-conversion-2025-07.csv")
        let units = try AdministrativeUnitDirectory(
            unitsJSON: try read("admin-units/units-2025-07.json"), conversionCSV: conversion)
        let agencies = try AgencyDirectory(
            json: try files(in: "agencies", ending: ".json").map { path throws(ReferenceDataError) in try read(path) })
        let catalogue = try ProcedureCatalogue(json: try read("catalogue/procedures.json"))
        var holidays = HolidayCalendar()
        for path in try files(in: "calendar", ending: ".csv") {
            do {
                holidays = holidays.merging(try HolidayCalendar(csv: try read(path)))
            } catch let error as HolidayCalendar.DataError {
                throw ReferenceDataError(source: path, reason: error.description)
            } catch {
                throw ReferenceDataError(source: path, reason: "cannot be read")
            }
        }
        return ReferenceData(
            router: DossierRouter(
                catalogue: catalogue, agencies: agencies, units: units,
                succession: SuccessionTable(conversionCSV: conversion)),
            calendar: WorkingCalendar(holidays: holidays))
    }
}
