/// A dossier code (mã hồ sơ): `{receiving agency id}-{yyMMdd}-{NNNN}`, e.g. `000.00.12.H56-250701-0001`.
public struct DossierCode: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The code text.
    public let rawValue: String
    /// The receiving agency.
    public let receivingAgency: AgencyID
    /// The receipt date encoded in the code.
    public let date: CivilDate
    /// The per-agency daily sequence number.
    public let sequence: Int

    /// Parses and validates a dossier code.
    /// - Throws: ``IdentifierError``: `.empty`, `.dossierCodeFormat`, `.agencyIDFormat`, `.dossierCodeDate`
    ///   (not a real calendar date), `.dossierCodeSequence` (not 4 digits, or 0000).
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...], whole: text)
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        try self.init(text, whole: nil)
    }

    /// `whole`, when given, is `text` as a String: kept as ``rawValue`` instead of a copy of the slice.
    private init(_ text: Substring, whole: String?) throws(IdentifierError) {
        let kind = "dossier code"
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: kind) }
        // Fixed layout `{13-character agency id}-yyMMdd-NNNN`, checked by position.
        let utf8 = text.utf8
        guard utf8.count == 25, let agencyEnd = utf8.firstIndex(of: UInt8(ascii: "-")),
            utf8.distance(from: utf8.startIndex, to: agencyEnd) == 13
        else {
            let dashes = utf8.filter { $0 == UInt8(ascii: "-") }.count
            throw IdentifierError(rule: dashes == 2 ? Self.ruleForMisplacedParts(text) : .dossierCodeFormat, kind: kind)
        }
        do {
            receivingAgency = try AgencyID(text[..<agencyEnd])  // by its end's byte index, not by counting characters
        } catch {
            throw IdentifierError(rule: .agencyIDFormat, kind: kind)
        }
        var dateFields = (year: 0, month: 0, day: 0)  // yy, MM, dd: locals, not an array allocated per code
        var sequence = 0
        var isDate = true
        var isSequence = true
        for (position, byte) in utf8.dropFirst(13).enumerated() {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            let digit = Int(byte &- UInt8(ascii: "0"))
            switch position {
            case 0, 7: isSequence = isSequence && byte == UInt8(ascii: "-")
            case 1...6:
                isDate = isDate && isDigit
                guard isDigit else { continue }
                switch position {
                case 1, 2: dateFields.year = dateFields.year * 10 + digit
                case 3, 4: dateFields.month = dateFields.month * 10 + digit
                default: dateFields.day = dateFields.day * 10 + digit
                }
            default:
                isSequence = isSequence && isDigit
                if isDigit { sequence = sequence * 10 + digit }
            }
        }
        guard isDate,
            let date = CivilDate(year: 2000 + dateFields.year, month: dateFields.month, day: dateFields.day)
        else {
            throw IdentifierError(rule: .dossierCodeDate, kind: kind)
        }
        self.date = date
        guard isSequence, sequence > 0 else { throw IdentifierError(rule: .dossierCodeSequence, kind: kind) }
        self.sequence = sequence
        rawValue = whole ?? String(text)
    }

    /// For a code of three dash-separated parts with the wrong lengths: which part is at fault.
    private static func ruleForMisplacedParts(_ text: Substring) -> IdentifierError.Rule {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if (try? AgencyID(parts[0])) == nil { return .agencyIDFormat }
        if parts[1].count != 6 || !parts[1].isASCIIDigits { return .dossierCodeDate }
        return .dossierCodeSequence
    }

    public var description: String { rawValue }

    public static func < (lhs: DossierCode, rhs: DossierCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
