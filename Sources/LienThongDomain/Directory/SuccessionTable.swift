import Foundation

/// The date the two-level local government took effect: codes on dossiers filed before it name pre-merger units.
public let mergerEffectiveDate = CivilDate(year: 2025, month: 7, day: 1)!

/// How a commune code on a dossier resolves.
public enum SuccessionOutcome: Sendable, Hashable {
    /// The code names this current unit (filed on or after the merger, or an unchanged unit).
    case current(CommuneCode)
    /// The pre-merger unit was absorbed whole (or renamed) into this successor.
    case successor(CommuneCode)
    /// The pre-merger unit was split: a person must choose among the candidates (Resolution 190/2025/QH15:
    /// the successor continues the dossier; it is never dropped).
    case needsTriage(candidates: [CommuneCode])
    /// No such unit before or after the merger.
    case unknown
}

/// The official old → new conversion of commune-level units (10,034 pre-merger units → 3,321).
public struct SuccessionTable: Sendable {
    /// For each pre-merger commune code, the new units that took part of or all of it.
    public let successors: [CommuneCode: [CommuneCode]]
    /// The codes of units in force since 2025-07-01 that appear in the table.
    public let currentCodes: Set<CommuneCode>

    /// Loads `nso-conversion-2025-07.csv`: two header lines, province banner rows without codes, then one row
    /// per (new unit, old unit) pair. Rows without an old commune code (island districts made special zones)
    /// name no commune and are skipped.
    public init(conversionCSV: String) {
        var successors: [CommuneCode: [CommuneCode]] = [:]
        var current: Set<CommuneCode> = []
        for fields in CSVRows.parse(conversionCSV).dropFirst(2) where fields.count > 4 {
            guard let new = try? CommuneCode(fields[2].trimmingWhitespace()) else { continue }
            current.insert(new)
            guard let old = try? CommuneCode(fields[4].trimmingWhitespace()) else { continue }
            if successors[old]?.contains(new) != true { successors[old, default: []].append(new) }
        }
        self.successors = successors.mapValues { $0.sorted() }
        self.currentCodes = current
    }

    /// Resolves the commune code on a dossier filed on `filedOn`. A code is read as pre-merger when the dossier
    /// was filed before 2025-07-01, because new units often reuse a predecessor's code; a later dossier that still
    /// carries a pre-merger code no longer in force is resolved through the table too.
    public func resolve(
        _ code: CommuneCode, filedOn: CivilDate, directory: AdministrativeUnitDirectory? = nil
    ) -> SuccessionOutcome {
        let isCurrent = directory.map { $0.unit(code) != nil } ?? currentCodes.contains(code)
        if filedOn >= mergerEffectiveDate && isCurrent { return .current(code) }
        guard let candidates = successors[code] else { return isCurrent ? .current(code) : .unknown }
        if candidates.count == 1 { return candidates[0] == code ? .current(code) : .successor(candidates[0]) }
        return .needsTriage(candidates: candidates)
    }
}
