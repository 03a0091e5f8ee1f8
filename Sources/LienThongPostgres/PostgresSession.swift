/// Synchronous access to one connection, handed to the closures of ``PostgresConnection/run(_:)`` and
/// ``PostgresConnection/withTransaction(isolation:_:)``.
///
/// - Important: only valid inside that closure, which runs on the connection's own serial queue: a session
///   never escapes it and never crosses threads, so libpq is called from one thread at a time.
public final class PostgresSession {
    let connection: LibPQConnection

    init(connection: LibPQConnection) {
        self.connection = connection
    }

    /// Runs a statement with binary parameters and returns its rows.
    /// - Parameter prepared: prepare the statement once per connection and execute it by name afterwards
    ///   (worth it for statements run many times).
    /// - Throws: ``PostgresError``.
    @discardableResult
    public func query(_ query: PostgresQuery, prepared: Bool = false) throws(PostgresError) -> PostgresRows {
        try connection.execute(query.sql, query.bindings, prepare: prepared)
    }

    /// Runs a script of one or more statements without parameters (DDL, migrations).
    public func runScript(_ sql: String) throws(PostgresError) {
        try connection.executeScript(sql)
    }

    /// Bulk-loads rows with `COPY … FROM STDIN` in binary format.
    /// - Parameters:
    ///   - table: the table name, optionally schema-qualified; quoted as an identifier.
    ///   - columns: the columns the rows fill, in order.
    /// - Returns: the number of rows copied.
    @discardableResult
    public func copy(_ rows: PostgresCopyRows, into table: String, columns: [String]) throws(PostgresError) -> Int {
        let columnList = columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", ")
        let sql = "COPY \(PostgresQuery.quoteIdentifier(table)) (\(columnList)) FROM STDIN WITH (FORMAT binary)"
        return try connection.copyIn(sql, data: rows.encoded())
    }
}

/// Rows for ``PostgresSession/copy(_:into:columns:)`` in PostgreSQL's binary COPY format.
public struct PostgresCopyRows: Sendable {
    private var bytes: [UInt8]
    /// The number of rows appended.
    public private(set) var count = 0

    /// An empty row set.
    public init() {
        bytes = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
        bytes.appendBigEndian(Int32(0))  // flags
        bytes.appendBigEndian(Int32(0))  // header extension length
    }

    /// Appends one row; the values must match the column list in order and type.
    public mutating func append<each Value: PostgresEncodable>(_ values: repeat each Value) {
        let countOffset = bytes.count
        bytes.appendBigEndian(Int16(0))
        var fields: Int16 = 0
        for value in repeat each values {
            fields += 1
            bytes.appendLengthPrefixed(value)
        }
        bytes[countOffset] = UInt8(truncatingIfNeeded: fields >> 8)
        bytes[countOffset + 1] = UInt8(truncatingIfNeeded: fields)
        count += 1
    }

    func encoded() -> [UInt8] {
        var result = bytes
        result.appendBigEndian(Int16(-1))
        return result
    }
}

/// Transaction isolation levels.
public enum PostgresIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}
