/// A commune-level unit code of the national statistics office: 5 digits, e.g. `00004` (Phường Ba Đình).
public struct CommuneCode: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 5-digit code.
    public let rawValue: String

    /// Parses a 5-digit code.
    /// - Throws: ``IdentifierError`` `.empty` or `.communeCodeFormat`.
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...])
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: "commune code") }
        guard text.utf8.count == 5, text.isASCIIDigits else {
            throw IdentifierError(rule: .communeCodeFormat, kind: "commune code")
        }
        rawValue = String(text)
    }

    /// Creates a code from its number (the unit table stores `4` for `00004`).
    public init?(number: Int) {
        guard (0...99_999).contains(number) else { return nil }
        let digits = String(number)
        rawValue = String(repeating: "0", count: 5 - digits.count) + digits
    }

    public var description: String { rawValue }

    public static func < (lhs: CommuneCode, rhs: CommuneCode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A province code of the national statistics office: 2 digits, e.g. `01` (Hà Nội).
public struct ProvinceCode: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The 2-digit code.
    public let rawValue: String

    /// Parses a 2-digit code.
    /// - Throws: ``IdentifierError`` `.empty` or `.provinceCodeFormat`.
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...])
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: "province code") }
        guard text.utf8.count == 2, text.isASCIIDigits else {
            throw IdentifierError(rule: .provinceCodeFormat, kind: "province code")
        }
        rawValue = String(text)
    }

    public var description: String { rawValue }

    public static func < (lhs: ProvinceCode, rhs: ProvinceCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
