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
    public init(_ text: some StringProtocol) throws(IdentifierError) {
        let kind = "dossier code"
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: kind) }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw IdentifierError(rule: .dossierCodeFormat, kind: kind) }
        do {
            receivingAgency = try AgencyID(parts[0])
        } catch {
            throw IdentifierError(rule: .agencyIDFormat, kind: kind)
        }
        let dateText = parts[1]
        guard dateText.count == 6, dateText.isASCIIDigits,
            let yy = Int(dateText.prefix(2)), let mm = Int(dateText.dropFirst(2).prefix(2)),
            let dd = Int(dateText.suffix(2)),
            let date = CivilDate(year: 2000 + yy, month: mm, day: dd)
        else { throw IdentifierError(rule: .dossierCodeDate, kind: kind) }
        self.date = date
        guard parts[2].count == 4, parts[2].isASCIIDigits, let sequence = Int(parts[2]), sequence > 0 else {
            throw IdentifierError(rule: .dossierCodeSequence, kind: kind)
        }
        self.sequence = sequence
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (lhs: DossierCode, rhs: DossierCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
