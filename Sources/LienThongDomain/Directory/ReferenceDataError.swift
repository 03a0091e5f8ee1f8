/// Why reference data (units, agencies, the procedure catalogue) could not be loaded: which data set, and what is
/// wrong, naming the entry at fault.
public struct ReferenceDataError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The data set, e.g. `procedure catalogue`.
    public let source: String
    /// What is wrong.
    public let reason: String

    /// Creates an error naming the data set and what is wrong with it.
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}
