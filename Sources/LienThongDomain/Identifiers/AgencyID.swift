/// An agency identifier in the QCVN 102 format `000.00.LL.Hpp`, e.g. `000.00.12.H56`.
///
/// Three numeric groups (3, 2 and 2 digits) and a level letter with two digits (`H56`: a province-level code);
/// sub-units change the numeric groups.
public struct AgencyID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The identifier text.
    public let rawValue: String

    /// Parses and validates an agency id.
    /// - Throws: ``IdentifierError`` with rule `.empty` or `.agencyIDFormat`.
    public init(_ text: some StringProtocol) throws(IdentifierError) {
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: "agency id") }
        let groups = text.split(separator: ".", omittingEmptySubsequences: false)
        guard groups.count == 4,
            groups[0].count == 3, groups[0].isASCIIDigits,
            groups[1].count == 2, groups[1].isASCIIDigits,
            groups[2].count == 2, groups[2].isASCIIDigits,
            groups[3].count == 3,
            let letter = groups[3].utf8.first, letter >= 0x41 && letter <= 0x5A,
            groups[3].dropFirst().isASCIIDigits
        else { throw IdentifierError(rule: .agencyIDFormat, kind: "agency id") }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (lhs: AgencyID, rhs: AgencyID) -> Bool { lhs.rawValue < rhs.rawValue }
}
