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

extension PostgresColumnarRows {
    /// The column `column` as an array parameter of `Element`s: `\(rows.column(.code, of: String.self))::text[]`.
    @inlinable
    public func column<Element>(_ column: Column, of type: Element.Type) -> PostgresColumnArray<Self, Element> {
        PostgresColumnArray(self, column, of: type)
    }
}

/// One column of some rows as a one-dimensional array parameter whose elements are `Element`s (the type the rows
/// write the column's values as), e.g. `\(rows.column(.name, of: String.self))::text[]`.
public struct PostgresColumnArray<Rows: PostgresColumnarRows, Element: PostgresArrayElement>: PostgresEncodable {
    @usableFromInline let rows: Rows
    @usableFromInline let column: Rows.Column
    /// Each row's value size, -1 for NULL: asked once, in one pass, here.
    @usableFromInline let sizes: [Int32]
    public let postgresEncodedSize: Int

    /// The column `column` of `rows`, as an array of `Element`.
    @inlinable
    public init(_ rows: Rows, _ column: Rows.Column, of _: Element.Type) {
        self.rows = rows
        self.column = column
        var sizes: [Int32] = []
        sizes.reserveCapacity(rows.rowCount)
        var encodedSize = PostgresBinaryWriter.arrayHeaderSize(count: rows.rowCount) + 4 * rows.rowCount
        for row in 0..<rows.rowCount {
            let size = rows.encodedSize(of: column, row: row)
            sizes.append(Int32(size ?? -1))
            encodedSize += size ?? 0
        }
        self.sizes = sizes
        self.postgresEncodedSize = encodedSize
    }

    @inlinable public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeArrayHeader(of: Element.self, count: rows.rowCount, hasNulls: sizes.contains(-1))
        for row in 0..<rows.rowCount {
            let size = sizes[row]
            writer.writeBigEndian(size)
            guard size >= 0 else { continue }
            let start = writer.position
            rows.encode(column, row: row, into: &writer)
            precondition(writer.position - start == size, "\(Rows.self) wrote another size than it declared")
        }
    }
}
