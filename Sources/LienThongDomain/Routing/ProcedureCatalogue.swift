public import Foundation

/// Who is competent for a procedure.
public enum CompetentLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case commune
    case department
    case ministryAgency = "ministry_agency"
}

/// One step of a procedure's processing chain.
public struct ProcessingStep: Sendable, Hashable {
    /// The kind of unit that performs it, e.g. `commune_police`.
    public let unitType: String
    /// Its share of the statutory time.
    public let duration: StatutoryDuration
}

/// A catalogued administrative procedure.
public struct Procedure: Sendable, Hashable {
    public let code: ProcedureCode
    public let name: String
    /// The area, e.g. `civil_status`, `land`, `business_registration`.
    public let field: String
    public let level: CompetentLevel
    /// The kind of unit competent to decide, e.g. `department_justice`.
    public let competentUnitType: String
    /// The processing chain in order; more than one step makes it liên thông.
    public let steps: [ProcessingStep]
    /// The statutory duration.
    public let duration: StatutoryDuration
    /// A shorter duration for the online channel, if any.
    public let onlineDuration: StatutoryDuration?
    /// Whether status 6 (awaiting fees or taxes) pauses the clock.
    public let paymentPausesClock: Bool
    /// Values not verified against the national database.
    public let illustrative: [String]

    /// The duration for a dossier received on `channel`.
    public func duration(online: Bool) -> StatutoryDuration {
        online ? onlineDuration ?? duration : duration
    }

    /// When step `step` of the chain is due if it starts at `start`; nil for a single-step procedure (its only
    /// deadline is the dossier's) and for a step outside the chain.
    public func stepDue(_ step: Int, startingAt start: Date, calendar: WorkingCalendar) -> Date? {
        guard steps.count > 1, steps.indices.contains(step) else { return nil }
        return steps[step].duration.due(from: start, calendar: calendar)
    }
}

/// The procedure catalogue, loaded from data (`catalogue/procedures.json`), looked up by national code.
public struct ProcedureCatalogue: Sendable {
    /// Procedures by national code.
    public let procedures: [String: Procedure]

    /// Loads the catalogue JSON.
    /// - Throws: ``ReferenceDataError`` naming the procedure at fault.
    public init(json: String) throws(ReferenceDataError) {
        struct Document: Decodable { let procedures: [Entry] }
        struct Amount: Decodable {
            let value: Int
            let unit: String
        }
        struct Step: Decodable {
            let unitType: String
            let workingDays: Int?
            let workingHours: Int?
        }
        struct Entry: Decodable {
            let code: String
            let name: String
            let field: String
            let level: CompetentLevel
            let competentUnitType: String
            let steps: [Step]
            let duration: Amount
            let onlineDuration: Amount?
            let paymentPausesClock: Bool
            let illustrative: [String]?
        }
        func duration(_ amount: Amount, _ code: String) throws(ReferenceDataError) -> StatutoryDuration {
            switch amount.unit {
            case "working_days": return .workingDays(amount.value)
            case "working_hours": return .workingHours(amount.value)
            case "calendar_days": return .calendarDays(amount.value)
            default:
                throw ReferenceDataError(
                    source: "procedure catalogue", reason: "\(code): unknown duration unit \(amount.unit)")
            }
        }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        } catch {
            throw ReferenceDataError(source: "procedure catalogue", reason: "JSON does not match the catalogue format")
        }
        var procedures: [String: Procedure] = [:]
        for entry in document.procedures {
            guard let code = try? ProcedureCode(entry.code) else {
                throw ReferenceDataError(source: "procedure catalogue", reason: "\(entry.code): invalid code")
            }
            guard !entry.steps.isEmpty else {
                throw ReferenceDataError(source: "procedure catalogue", reason: "\(entry.code): no processing step")
            }
            guard procedures[code.national] == nil else {
                throw ReferenceDataError(source: "procedure catalogue", reason: "\(entry.code): listed twice")
            }
            let steps = try entry.steps.map { step throws(ReferenceDataError) -> ProcessingStep in
                guard
                    let amount = step.workingDays.map(StatutoryDuration.workingDays)
                        ?? step.workingHours.map(StatutoryDuration.workingHours)
                else {
                    throw ReferenceDataError(
                        source: "procedure catalogue", reason: "\(entry.code): step without a duration")
                }
                return ProcessingStep(unitType: step.unitType, duration: amount)
            }
            procedures[code.national] = Procedure(
                code: code, name: NormalizedText.nfc(entry.name), field: entry.field, level: entry.level,
                competentUnitType: entry.competentUnitType, steps: steps,
                duration: try duration(entry.duration, entry.code),
                onlineDuration: try entry.onlineDuration.map { amount throws(ReferenceDataError) in
                    try duration(amount, entry.code)
                },
                paymentPausesClock: entry.paymentPausesClock, illustrative: entry.illustrative ?? [])
        }
        self.procedures = procedures
    }

    /// The procedure for a national code or any local variant of it.
    public func procedure(_ code: ProcedureCode) -> Procedure? {
        procedures[code.national]
    }
}
