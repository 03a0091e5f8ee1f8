/// Rows that a query sends column by column, each column one array parameter (``PostgresColumnArray``) written
/// straight from where the rows keep their values. Gathering a column into a Swift array first retains every string
/// and array it holds, and releases them all again.
public protocol PostgresColumnarRows: Sendable {
    /// Names one column.
    associatedtype Column: Sendable

    /// The number of rows.
    var rowCount: Int { get }

    /// The size of `column`'s value in `row` as ``encode(_:row:into:)`` writes it; nil for SQL NULL.
    func encodedSize(of column: Column, row: Int) -> Int?

    /// Writes `column`'s value in `row` (one that is not NULL) in its binary form, as its type's
    /// ``PostgresEncodable/encode(into:)`` would: exactly ``encodedSize(of:row:)`` bytes.
    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter)
}

/// One column of some rows as a one-dimensional array parameter whose elements are `Element`s (the type the rows
/// write the column's values as), e.g. `\(PostgresColumnArray(rows, .name, of: String.self))::text[]`.
public struct PostgresColumnArray<Rows: PostgresColumnarRows, Element: PostgresArrayElement>: PostgresEncodable {
    @usableFromInline let rows: Rows
    @usableFromInline let column: Rows.Column

    /// The column `column` of `rows`, as an array of `Element`.
    @inlinable
    public init(_ rows: Rows, _ column: Rows.Column, of _: Element.Type) {
        self.rows = rows
        self.column = column
    }

    @inlinable public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }

    @inlinable public var postgresEncodedSize: Int {
        var size = PostgresBinaryWriter.arrayHeaderSize(count: rows.rowCount)
        for row in 0..<rows.rowCount { size += 4 + (rows.encodedSize(of: column, row: row) ?? 0) }
        return size
    }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        let hasNulls = (0..<rows.rowCount).contains { rows.encodedSize(of: column, row: $0) == nil }
        writer.writeArrayHeader(of: Element.self, count: rows.rowCount, hasNulls: hasNulls)
        for row in 0..<rows.rowCount {
            guard let size = rows.encodedSize(of: column, row: row) else {
                writer.writeBigEndian(Int32(-1))
                continue
            }
            writer.writeBigEndian(Int32(size))
            let start = writer.position
            rows.encode(column, row: row, into: &writer)
            precondition(writer.position - start == size, "\(Rows.self) wrote another size than it declared")
        }
    }
}
