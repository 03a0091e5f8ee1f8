/// Why a text is not a valid identifier: one case per rule, each with a stable reason string.
public struct IdentifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rule broken.
    public enum Rule: String, Sendable, CaseIterable {
        case empty = "empty"
        case invalidCharacters = "invalid_characters"
        case agencyIDFormat = "agency_id_format"
        case dossierCodeFormat = "dossier_code_format"
        case dossierCodeDate = "dossier_code_date"
        case dossierCodeSequence = "dossier_code_sequence"
        case procedureCodeFormat = "procedure_code_format"
        case procedureCodeSuffix = "procedure_code_suffix"
        case communeCodeFormat = "commune_code_format"
        case provinceCodeFormat = "province_code_format"
        case citizenIDLength = "citizen_id_length"
        case citizenIDDigits = "citizen_id_digits"
    }

    /// The rule broken.
    public let rule: Rule
    /// Which identifier kind was being parsed, e.g. `dossier code`.
    public let kind: String

    /// Creates an error for `rule` while parsing a `kind` of identifier.
    public init(rule: Rule, kind: String) {
        self.rule = rule
        self.kind = kind
    }

    /// A stable, data-free reason, e.g. `dossier_code_date`.
    public var reason: String { rule.rawValue }

    public var description: String { "invalid \(kind): \(rule.rawValue)" }
}

extension StringProtocol {
    /// Whether every character is an ASCII digit (full-width and other Unicode digits are not).
    var isASCIIDigits: Bool { !isEmpty && utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
