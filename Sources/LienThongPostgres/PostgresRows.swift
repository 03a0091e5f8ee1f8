/// A result column.
public struct PostgresColumn: Sendable, Hashable {
    /// The column name.
    public let name: String
    /// The column type.
    public let dataType: PostgresDataType
}

/// The rows of a result, copied out of libpq in binary format.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// The result's columns.
    public let columns: [PostgresColumn]
    /// Rows inserted, updated, deleted or copied by the statement (its command tag), 0 for others.
    public let affectedRows: Int
    @usableFromInline let storage: [UInt8]
    /// Per cell, row-major: start offset in `storage` and length (-1 for NULL).
    @usableFromInline let cells: [(start: Int32, length: Int32)]
    let rowCount: Int

    init(
        columns: [PostgresColumn], affectedRows: Int, storage: [UInt8], cells: [(start: Int32, length: Int32)],
        rowCount: Int
    ) {
        self.columns = columns
        self.affectedRows = affectedRows
        self.storage = storage
        self.cells = cells
        self.rowCount = rowCount
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { rowCount }

    public subscript(position: Int) -> PostgresRow {
        PostgresRow(rows: self, index: position)
    }

    @inlinable
    func cell(row: Int, column: Int) -> PostgresCell {
        let (start, length) = cells[row * columns.count + column]
        let bytes = length < 0 ? nil : storage[Int(start)..<Int(start + length)]
        return PostgresCell(dataType: columns[column].dataType, bytes: bytes)
    }
}

/// One result row.
public struct PostgresRow: Sendable {
    @usableFromInline let rows: PostgresRows
    @usableFromInline let index: Int

    /// The cell in column `column`.
    @inlinable
    public func cell(at column: Int) -> PostgresCell {
        rows.cell(row: index, column: column)
    }

    /// Decodes column `column`. (Inlinable, so the caller's module decodes each concrete type directly.)
    /// - Throws: ``PostgresError`` `.decoding` for a missing column, NULL into a non-optional, or a type mismatch,
    ///   naming the column.
    @inlinable
    public func decode<T: PostgresDecodable>(_: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        guard column >= 0 && column < rows.columns.count else { throw missingColumn(column) }
        do {
            return try T(postgresCell: cell(at: column))
        } catch {
            throw error.naming(column: rows.columns[column].name)
        }
    }

    @usableFromInline
    func missingColumn(_ column: Int) -> PostgresError {
        PostgresError(code: .decoding, message: "no column \(column) in a result of \(rows.columns.count)")
    }

    /// Decodes the column named `name`.
    public func decode<T: PostgresDecodable>(_: T.Type = T.self, named name: String) throws(PostgresError) -> T {
        guard let column = rows.columns.firstIndex(where: { $0.name == name }) else {
            throw PostgresError(code: .decoding, message: "no column named \(name)")
        }
        do {
            return try T(postgresCell: cell(at: column))
        } catch {
            throw error.naming(column: name)
        }
    }

    /// Decodes the leading columns as a tuple, e.g. `try row.decode((String, Int64).self)`.
    @inlinable
    public func decode<each T: PostgresDecodable>(_: (repeat each T).Type) throws(PostgresError) -> (repeat each T) {
        var column = 0
        func next<Value: PostgresDecodable>(_: Value.Type) throws(PostgresError) -> Value {
            defer { column += 1 }
            return try decode(Value.self, at: column)
        }
        return (repeat try next((each T).self))
    }
}
