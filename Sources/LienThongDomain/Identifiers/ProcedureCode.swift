/// An administrative procedure code (mã TTHC).
///
/// National codes read `x.xxxxxx` (`1.001776`); a province's local variant appends its agency suffix
/// (`1.001776.000.00.00.H56`) and maps back to the national code.
public struct ProcedureCode: Hashable, Sendable, CustomStringConvertible {
    /// The code as given.
    public let rawValue: String
    /// The national code, e.g. `1.001776`.
    public let national: String
    /// The local variant's suffix (`000.00.00.H56`), nil for a national code.
    public let localSuffix: String?

    /// Parses and validates a procedure code.
    /// - Throws: ``IdentifierError``: `.empty`, `.procedureCodeFormat`, `.procedureCodeSuffix`.
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...], whole: text)
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        try self.init(text, whole: nil)
    }

    /// `whole`, when given, is `text` as a String: kept as ``rawValue`` instead of a copy of the slice.
    private init(_ text: Substring, whole: String?) throws(IdentifierError) {
        let kind = "procedure code"
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: kind) }
        // `d.dddddd` checked byte by byte: all ASCII, so its 8 bytes are its 8 characters and the rest starts on a
        // character boundary (counting characters instead cost more than the check).
        let utf8 = text.utf8
        guard utf8.count >= 8 else { throw IdentifierError(rule: .procedureCodeFormat, kind: kind) }
        let nationalEnd = utf8.index(utf8.startIndex, offsetBy: 8)
        for (position, byte) in utf8[..<nationalEnd].enumerated() {
            let isValid =
                position == 1 ? byte == UInt8(ascii: ".") : byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            guard isValid else { throw IdentifierError(rule: .procedureCodeFormat, kind: kind) }
        }
        let national = text[..<nationalEnd]
        let rest = text[nationalEnd...]
        if rest.isEmpty {
            localSuffix = nil
        } else {
            guard rest.first == ".", (try? AgencyID(rest.dropFirst())) != nil else {
                throw IdentifierError(rule: .procedureCodeSuffix, kind: kind)
            }
            localSuffix = String(rest.dropFirst())
        }
        self.national = String(national)
        rawValue = whole ?? String(text)
    }

    /// The national procedure this code stands for.
    public var nationalCode: ProcedureCode {
        localSuffix == nil ? self : try! ProcedureCode(national)  // the prefix was validated above
    }

    public var description: String { rawValue }
}
