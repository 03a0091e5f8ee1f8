/// An agency identifier in the QCVN 102 format `000.00.LL.Hpp`, e.g. `000.00.12.H56`.
///
/// Three numeric groups (3, 2 and 2 digits) and a level letter with two digits (`H56`: a province-level code);
/// sub-units change the numeric groups.
public struct AgencyID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The identifier text.
    public let rawValue: String

    /// Parses and validates an agency id.
    /// - Throws: ``IdentifierError`` with rule `.empty` or `.agencyIDFormat`.
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...])
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: "agency id") }
        // Fixed layout `ddd.dd.dd.Ldd`: checked by position, without splitting.
        var isValid = text.utf8.count == 13
        if isValid {
            for (position, byte) in text.utf8.enumerated() {
                switch position {
                case 3, 6, 9: isValid = isValid && byte == UInt8(ascii: ".")
                case 10: isValid = isValid && byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
                default: isValid = isValid && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
                }
            }
        }
        guard isValid else { throw IdentifierError(rule: .agencyIDFormat, kind: "agency id") }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (lhs: AgencyID, rhs: AgencyID) -> Bool { lhs.rawValue < rhs.rawValue }
}
