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
        try self.init(text[...])
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        let kind = "procedure code"
        guard !text.isEmpty else { throw IdentifierError(rule: .empty, kind: kind) }
        let national = text.prefix(8)
        guard national.count == 8, national.dropFirst().first == ".",
            national.prefix(1).isASCIIDigits, national.dropFirst(2).isASCIIDigits
        else { throw IdentifierError(rule: .procedureCodeFormat, kind: kind) }
        let rest = text.dropFirst(8)
        if rest.isEmpty {
            localSuffix = nil
        } else {
            guard rest.first == ".", (try? AgencyID(rest.dropFirst())) != nil else {
                throw IdentifierError(rule: .procedureCodeSuffix, kind: kind)
            }
            localSuffix = String(rest.dropFirst())
        }
        self.national = String(national)
        rawValue = String(text)
    }

    /// The national procedure this code stands for.
    public var nationalCode: ProcedureCode {
        localSuffix == nil ? self : try! ProcedureCode(national)  // the prefix was validated above
    }

    public var description: String { rawValue }
}
