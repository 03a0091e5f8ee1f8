/// A SQL statement with its parameters bound separately, never spliced into the text.
///
/// Interpolating a value appends `$n` to the SQL and the value to the bindings, so injection is impossible by
/// construction:
///
/// ```swift
/// let rows = try session.query("SELECT state FROM dossier WHERE code = \(code) AND version > \(version)")
/// ```
///
/// Identifiers (table and column names) cannot be parameters; `\(identifier: name)` quotes one safely.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The SQL text with `$1`, `$2`, … placeholders.
    public var sql: String
    /// The values bound to the placeholders.
    public var bindings: PostgresBindings

    /// Creates a query from SQL that already uses `$n` placeholders for `bindings`.
    public init(sql: String, bindings: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.bindings = bindings
    }

    public init(stringLiteral value: String) {
        self.init(sql: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(sql: stringInterpolation.sql, bindings: stringInterpolation.bindings)
    }

    /// Builds the SQL text and bindings of an interpolated query.
    public struct StringInterpolation: StringInterpolationProtocol {
        @usableFromInline var sql = ""
        @usableFromInline var bindings = PostgresBindings()

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next parameter.
        @inlinable
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value as the next parameter: SQL NULL when nil.
        @inlinable
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Appends a quoted identifier (a table or column name), e.g. `"dossier"`.
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }
    }

    /// Quotes an identifier, doubling embedded quotes; a dotted name is quoted part by part.
    public static func quoteIdentifier(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false)
            .map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            .joined(separator: ".")
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Parameter values in binary format, each in memory of exactly its size.
///
/// A value is written once, straight into its own buffer: a megabyte-sized array parameter is neither zero-filled
/// first nor copied again as the list grows (appending every value to one shared buffer did both, and touched
/// fresh pages each time).
public struct PostgresBindings: Sendable {
    /// The parameter types, in order.
    @usableFromInline package internal(set) var dataTypes: [UInt32] = []
    /// Each parameter's length in bytes, -1 for NULL.
    @usableFromInline package internal(set) var lengths: [Int32] = []
    /// Each parameter's binary form, empty for NULL.
    @usableFromInline package internal(set) var values: [[UInt8]] = []

    /// An empty binding list.
    public init() {}

    /// The number of parameters.
    public var count: Int { dataTypes.count }

    /// Appends a parameter (inlinable, so that callers' array parameters are encoded by specialized code).
    @inlinable
    public mutating func append(_ value: some PostgresEncodable) {
        dataTypes.append(type(of: value).postgresDataType.oid)
        guard !value.isPostgresNull else {
            lengths.append(-1)
            values.append([])
            return
        }
        let encoded = [UInt8](encoding: value)
        lengths.append(Int32(encoded.count))
        values.append(encoded)
    }
}
