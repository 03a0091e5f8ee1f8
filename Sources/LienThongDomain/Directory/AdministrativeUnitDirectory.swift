import Foundation

/// A commune-level unit in force since 2025-07-01.
public struct AdministrativeUnit: Sendable, Hashable {
    /// The 5-digit code.
    public let code: CommuneCode
    /// The NFC name, e.g. `Phường Ba Đình`.
    public let name: String
    /// The province.
    public let province: ProvinceCode
    /// The province name, e.g. `Thành phố Hà Nội`.
    public let provinceName: String
}

/// The 3,321 commune-level units, by code and by province.
public struct AdministrativeUnitDirectory: Sendable {
    /// Every unit by code.
    public let units: [CommuneCode: AdministrativeUnit]

    /// Loads the units table (`units-2025-07.json`) with province codes taken from the conversion table, which
    /// names provinces as `Thành phố Hà Nội (01)`.
    /// - Throws: ``ReferenceDataError`` for malformed JSON, a bad code, or a province without a code.
    public init(unitsJSON: String, conversionCSV: String) throws(ReferenceDataError) {
        struct Row: Decodable {
            let code: Int
            let name: String
            let province_name: String
        }
        let rows: [Row]
        do {
            rows = try JSONDecoder().decode([Row].self, from: Data(unitsJSON.utf8))
        } catch {
            throw ReferenceDataError(source: "administrative unit data", reason: "units JSON does not decode")
        }
        var provinceCodes: [String: ProvinceCode] = [:]
        var labelsRead: Set<String> = []  // each province labels about 300 rows
        for fields in CSVRows.parse(conversionCSV).dropFirst(2) where fields.count > 2 {
            guard labelsRead.insert(fields[0]).inserted else { continue }
            let label = fields[0].trimmingWhitespace()
            guard let open = label.lastIndex(of: "("), label.hasSuffix(")"),
                let code = try? ProvinceCode(label[label.index(after: open)..<label.index(before: label.endIndex)])
            else { continue }
            provinceCodes[NormalizedText.nfc(label[..<open].trimmingWhitespace())] = code
        }
        var units: [CommuneCode: AdministrativeUnit] = [:]
        for row in rows {
            guard let code = CommuneCode(number: row.code) else {
                throw ReferenceDataError(
                    source: "administrative unit data", reason: "unit code \(row.code) out of range")
            }
            let provinceName = NormalizedText.nfc(row.province_name)
            guard let province = provinceCodes[provinceName] else {
                throw ReferenceDataError(
                    source: "administrative unit data", reason: "no province code for \(provinceName)")
            }
            units[code] = AdministrativeUnit(
                code: code, name: NormalizedText.nfc(row.name), province: province, provinceName: provinceName)
        }
        self.units = units
    }

    /// The unit with `code`, if it exists since 2025-07-01.
    public func unit(_ code: CommuneCode) -> AdministrativeUnit? {
        units[code]
    }

    /// The units of a province, by code.
    public func units(in province: ProvinceCode) -> [AdministrativeUnit] {
        units.values.filter { $0.province == province }.sorted { $0.code < $1.code }
    }
}
