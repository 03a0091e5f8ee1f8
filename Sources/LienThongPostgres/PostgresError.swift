/// An error from the Postgres wrapper.
///
/// `description` is generic and safe to log: the operation, SQLSTATE and the server's primary message. SQL text
/// and bound values never appear in it; ``debugDescription`` adds the server's detail and hint, which can quote
/// row values, and is for debug logs only.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The connection could not be established.
        public static let connectionFailed = Code("connectionFailed")
        /// The connection broke during or before an operation; whether a pending COMMIT took effect is unknown.
        public static let connectionLost = Code("connectionLost")
        /// The server reported an error; see ``PostgresError/sqlState``.
        public static let server = Code("server")
        /// A result column could not be decoded into the requested Swift type.
        public static let decoding = Code("decoding")
        /// A migration could not be applied or no longer matches what was applied.
        public static let migration = Code("migration")
        /// The connection was closed by its owner.
        public static let closed = Code("closed")
    }

    /// What failed.
    public let code: Code
    /// The SQLSTATE for server errors.
    public let sqlState: SQLState?
    /// The server's primary message, or the wrapper's explanation.
    public let message: String
    /// The server's detail line (may quote row values).
    public let detail: String?
    /// The server's hint.
    public let hint: String?
    /// The constraint involved, for integrity violations.
    public let constraint: String?
    /// Where the error was raised.
    public let file: String
    /// Where the error was raised.
    public let line: Int

    /// The same decoding error with the column it concerns named first.
    @usableFromInline
    func naming(column: String) -> PostgresError {
        PostgresError(
            code: code, message: "column \(column): \(message)", sqlState: sqlState, detail: detail, hint: hint,
            constraint: constraint, file: file, line: line)
    }

    package init(
        code: Code,
        message: String,
        sqlState: SQLState? = nil,
        detail: String? = nil,
        hint: String? = nil,
        constraint: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.file = file
        self.line = line
    }

    /// A serialization failure or deadlock: the whole transaction may be retried as it is.
    public var isTransactionRetriable: Bool {
        sqlState == .serializationFailure || sqlState == .deadlockDetected
    }

    /// The connection is gone (lost, or the server is shutting down or unreachable).
    public var isConnectionProblem: Bool {
        code == .connectionLost || code == .connectionFailed
            || sqlState?.class == "08" || sqlState == .adminShutdown || sqlState == .crashShutdown
            || sqlState == .cannotConnectNow
    }

    public var description: String {
        var text = "PostgresError.\(code)"
        if let sqlState { text += " [\(sqlState.rawValue)]" }
        return text + ": \(message)"
    }

    public var debugDescription: String {
        var text = description
        if let detail { text += " detail: \(detail)" }
        if let hint { text += " hint: \(hint)" }
        if let constraint { text += " constraint: \(constraint)" }
        return text + " (\(file):\(line))"
    }
}

/// A five-character SQLSTATE code.
public struct SQLState: Hashable, Sendable, CustomStringConvertible {
    /// The code, e.g. `23505`.
    public let rawValue: String

    /// Creates a SQLSTATE from its code.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// The two-character class, e.g. `23` for integrity constraint violations.
    public var `class`: Substring { rawValue.prefix(2) }

    public var description: String { rawValue }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let notNullViolation = SQLState("23502")
    public static let checkViolation = SQLState("23514")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let undefinedTable = SQLState("42P01")
    public static let syntaxError = SQLState("42601")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let characterNotInRepertoire = SQLState("22021")
    public static let untranslatableCharacter = SQLState("22P05")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let queryCanceled = SQLState("57014")
    public static let readOnlySQLTransaction = SQLState("25006")
}
