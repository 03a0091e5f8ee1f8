internal import CLibPQ
import Glibc

/// Owns one `PGconn` and performs every libpq call on it.
///
/// Not thread-safe: its owner confines it to one serial queue (``PostgresConnection``) or one thread
/// (``PostgresNotificationListener``). Every `PGresult` lives inside one function call and is cleared on every path.
final class LibPQConnection {
    private var connection: OpaquePointer?
    private var preparedStatements: [String: String] = [:]

    private init(connection: OpaquePointer) {
        self.connection = connection
    }

    /// Connects with libpq keyword/value parameters; a `dbname` value holding a conninfo string or URI is
    /// expanded, and libpq's `PG*` environment variables fill what is left unset.
    /// - Throws: ``PostgresError`` `.connectionFailed` with libpq's message.
    static func connect(parameters: [(String, String)]) throws(PostgresError) -> LibPQConnection {
        // NULL-terminated C string arrays, freed on every path.
        let keywords: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.0) }
        let values: [UnsafeMutablePointer<CChar>?] = parameters.map { strdup($0.1) }
        defer {
            for pointer in keywords { free(pointer) }
            for pointer in values { free(pointer) }
        }
        let keywordList: [UnsafePointer<CChar>?] = keywords.map { UnsafePointer($0) } + [nil]
        let valueList: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        let connection = keywordList.withUnsafeBufferPointer { keywordPointers in
            valueList.withUnsafeBufferPointer { valuePointers in
                PQconnectdbParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }
        guard let connection else { throw PostgresError(code: .connectionFailed, message: "out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.errorMessage(connection)
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: message)
        }
        return LibPQConnection(connection: connection)
    }

    deinit {
        close()
    }

    func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Whether the socket is healthy as far as libpq knows.
    var isHealthy: Bool {
        connection.map { PQstatus($0) == CONNECTION_OK } ?? false
    }

    /// Re-establishes a broken connection (same parameters); prepared statements are forgotten.
    /// - Throws: ``PostgresError`` `.connectionFailed` if the server is still unreachable.
    func reconnectIfNeeded() throws(PostgresError) {
        let connection = try live()
        guard PQstatus(connection) != CONNECTION_OK else { return }
        preparedStatements = [:]
        PQreset(connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            throw PostgresError(code: .connectionFailed, message: Self.errorMessage(connection))
        }
    }

    /// Runs a statement with binary parameters and binary results; with `prepare`, the statement is prepared
    /// once per connection and executed by name afterwards.
    func execute(_ sql: String, _ bindings: PostgresBindings, prepare: Bool) throws(PostgresError) -> PostgresRows {
        let connection = try live()
        var statementName: String?
        if prepare {
            if let name = preparedStatements[sql] {
                statementName = name
            } else {
                let name = "lt_\(preparedStatements.count + 1)"
                let result = bindings.dataTypes.withUnsafeBufferPointer { types in
                    PQprepare(connection, name, sql, Int32(bindings.count), types.baseAddress)
                }
                _ = try consume(result, connection: connection)
                preparedStatements[sql] = name
                statementName = name
            }
        }
        let result = Self.withParameterPointers(bindings) { values, lengths, formats in
            bindings.dataTypes.withUnsafeBufferPointer { types -> OpaquePointer? in
                if let statementName {
                    return PQexecPrepared(connection, statementName, Int32(bindings.count), values, lengths, formats, 1)
                }
                return PQexecParams(
                    connection, sql, Int32(bindings.count), types.baseAddress, values, lengths, formats, 1)
            }
        }
        return try consume(result, connection: connection)
    }

    /// Runs one or more statements without parameters (simple query protocol), e.g. a migration script.
    func executeScript(_ sql: String) throws(PostgresError) {
        let connection = try live()
        var result = PQexec(connection, sql)
        // PQexec returns the last result only; an earlier failure aborts the rest and is reported there.
        _ = try consume(result, connection: connection)
        result = nil
    }

    /// Streams `data` (binary COPY format) into `COPY … FROM STDIN` and returns the number of rows copied.
    func copyIn(_ sql: String, data: [UInt8]) throws(PostgresError) -> Int {
        let connection = try live()
        guard let start = PQexec(connection, sql) else { throw connectionError(connection) }
        let status = PQresultStatus(start)
        if status != PGRES_COPY_IN {
            _ = try consume(start, connection: connection)
            throw PostgresError(code: .server, message: "statement did not start COPY FROM STDIN")
        }
        PQclear(start)
        let chunkSize = 1 << 16
        var sendFailed = false
        data.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let length = min(chunkSize, buffer.count - offset)
                let sent = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: length)
                {
                    PQputCopyData(connection, $0, Int32(length))
                }
                if sent != 1 {
                    sendFailed = true
                    return
                }
                offset += length
            }
        }
        PQputCopyEnd(connection, sendFailed ? "client failed to send COPY data" : nil)
        var copied = 0
        var firstError: PostgresError?
        while let result = PQgetResult(connection) {
            do {
                copied = try consume(result, connection: connection).affectedRows
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return copied
    }

    /// The socket descriptor, for waiting on notifications.
    var socket: Int32 {
        connection.map { PQsocket($0) } ?? -1
    }

    /// Reads what the server sent and returns the notifications received.
    func consumeNotifications() throws(PostgresError) -> [PostgresNotification] {
        let connection = try live()
        guard PQconsumeInput(connection) == 1 else { throw connectionError(connection) }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(connection) {
            notifications.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra),
                    serverProcessID: notify.pointee.be_pid
                ))
            PQfreemem(notify)
        }
        return notifications
    }

    private func live() throws(PostgresError) -> OpaquePointer {
        guard let connection else { throw PostgresError(code: .closed, message: "the connection is closed") }
        return connection
    }

    /// Checks a result, converts it into rows and clears it.
    private func consume(_ result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) -> PostgresRows {
        guard let result else { throw connectionError(connection) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            throw Self.serverError(result, connection: connection)
        }
    }

    private func connectionError(_ connection: OpaquePointer) -> PostgresError {
        PostgresError(
            code: PQstatus(connection) == CONNECTION_OK ? .server : .connectionLost,
            message: Self.errorMessage(connection))
    }

    private static func serverError(_ result: OpaquePointer, connection: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let isLost = PQstatus(connection) != CONNECTION_OK
        return PostgresError(
            code: isLost ? .connectionLost : .server,
            message: field("M") ?? errorMessage(connection),
            sqlState: field("C").map(SQLState.init),
            detail: field("D"),
            hint: field("H"),
            constraint: field("n")
        )
    }

    private static func errorMessage(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmingTrailingNewlines()
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { column in
            PostgresColumn(
                name: String(cString: PQfname(result, Int32(column))),
                dataType: PostgresDataType(oid: PQftype(result, Int32(column))))
        }
        var storage: [UInt8] = []
        var cells: [(start: Int32, length: Int32)] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    cells.append((Int32(storage.count), -1))
                    continue
                }
                let length = PQgetlength(result, row, column)
                cells.append((Int32(storage.count), length))
                let value = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(length))
                storage.append(contentsOf: value)
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(
            columns: columns, affectedRows: affected, storage: storage, cells: cells, rowCount: rowCount)
    }

    /// Points libpq at each parameter's bytes; NULL is a nil pointer.
    private static func withParameterPointers<T>(
        _ bindings: PostgresBindings,
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> T
    ) -> T {
        let formats = [Int32](repeating: 1, count: bindings.count)
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(bindings.count)
        // A non-NULL empty value needs a non-nil pointer: libpq reads a nil pointer as NULL.
        var placeholder: CChar = 0
        return withUnsafePointer(to: &placeholder) { placeholder in
            withPointers(to: bindings.values[...], lengths: bindings.lengths[...], collecting: &pointers, placeholder) {
                pointers in
                pointers.withUnsafeBufferPointer { values in
                    bindings.lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }

    /// Collects a pointer to each value, each valid until `body` returns (one nested access per parameter).
    private static func withPointers<T>(
        to values: ArraySlice<[UInt8]>,
        lengths: ArraySlice<Int32>,
        collecting pointers: inout [UnsafePointer<CChar>?],
        _ placeholder: UnsafePointer<CChar>,
        _ body: ([UnsafePointer<CChar>?]) -> T
    ) -> T {
        guard let value = values.first, let length = lengths.first else { return body(pointers) }
        return value.withUnsafeBytes { bytes in
            pointers.append(length < 0 ? nil : bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? placeholder)
            return withPointers(
                to: values.dropFirst(), lengths: lengths.dropFirst(), collecting: &pointers, placeholder, body)
        }
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }
}
