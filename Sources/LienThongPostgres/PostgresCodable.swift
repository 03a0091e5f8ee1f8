/// A Swift value that can be sent to PostgreSQL as a binary parameter.
///
/// Conforming types write PostgreSQL's binary wire format (`…_send`) for ``postgresDataType``.
public protocol PostgresEncodable: Sendable {
    /// The parameter's PostgreSQL type.
    static var postgresDataType: PostgresDataType { get }
    /// Whether this value is SQL NULL (only `Optional.none` is).
    var isPostgresNull: Bool { get }
    /// Appends the binary representation (without a length prefix).
    func encode(into buffer: inout [UInt8])
    /// How many bytes ``encode(into:)`` appends, or an estimate: bindings reserve it before encoding, so that a
    /// large array parameter is not copied each time the buffer doubles. Default: 8.
    var postgresEncodedSize: Int { get }
}

extension PostgresEncodable {
    @inlinable public var isPostgresNull: Bool { false }
    @inlinable public var postgresEncodedSize: Int { 8 }
}

/// A Swift value that can be read from a binary result column.
public protocol PostgresDecodable: Sendable {
    /// Decodes a cell; the cell's bytes are nil for SQL NULL.
    /// - Throws: ``PostgresError`` `.decoding` for an unexpected type, NULL or malformed bytes.
    init(postgresCell cell: PostgresCell) throws(PostgresError)
}

/// A type that can be an element of a one-dimensional PostgreSQL array parameter or column.
public protocol PostgresArrayElement: PostgresEncodable, PostgresDecodable {
    /// The array type, e.g. `int8[]` for `Int64`.
    static var postgresArrayDataType: PostgresDataType { get }
}

/// One result cell: its type, its binary bytes (nil for NULL) and its column's name.
public struct PostgresCell: Sendable {
    /// The column's type.
    public let dataType: PostgresDataType
    /// The binary value, nil for SQL NULL.
    public let bytes: ArraySlice<UInt8>?
    /// The column name, for error messages.
    public let columnName: String

    /// Creates a cell (decoders create element cells this way).
    public init(dataType: PostgresDataType, bytes: ArraySlice<UInt8>?, columnName: String) {
        self.dataType = dataType
        self.bytes = bytes
        self.columnName = columnName
    }

    /// The bytes of a non-NULL cell of one of `accepted` types.
    /// - Throws: ``PostgresError`` `.decoding` for NULL or another type.
    public func requireBytes(
        _ swiftType: Any.Type,
        accepting accepted: PostgresDataType...
    ) throws(PostgresError) -> ArraySlice<UInt8> {
        guard accepted.contains(dataType) else {
            throw decodingError("cannot decode \(dataType) as \(swiftType)")
        }
        guard let bytes else { throw decodingError("unexpected NULL for \(swiftType)") }
        return bytes
    }

    /// A decoding error naming this cell's column.
    public func decodingError(_ reason: String) -> PostgresError {
        PostgresError(code: .decoding, message: "column \(columnName): \(reason)")
    }
}

extension Array where Element == UInt8 {
    /// Appends the integer's bytes, most significant first, in one copy (a byte at a time, each append checked
    /// the buffer's uniqueness and capacity again).
    @inlinable
    mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension Array where Element == UInt8 {
    /// Appends a value as a length-prefixed field (a 32-bit length, -1 for NULL, then the bytes), the layout of
    /// array elements and of binary COPY fields.
    @inlinable
    mutating func appendLengthPrefixed(_ value: some PostgresEncodable) {
        guard !value.isPostgresNull else {
            appendBigEndian(Int32(-1))
            return
        }
        let lengthOffset = count
        appendBigEndian(Int32(0))
        value.encode(into: &self)
        let length = UInt32(count - lengthOffset - 4)
        withUnsafeMutableBytes { $0.storeBytes(of: length.bigEndian, toByteOffset: lengthOffset, as: UInt32.self) }
    }
}

extension ArraySlice where Element == UInt8 {
    /// Reads a big-endian integer at `offset` (relative to the slice start).
    func readBigEndian<Integer: FixedWidthInteger>(_: Integer.Type, at offset: Int) -> Integer? {
        let size = MemoryLayout<Integer>.size
        guard offset >= 0, offset + size <= count else { return nil }
        var value: Integer = 0
        for byte in self[(startIndex + offset)..<(startIndex + offset + size)] {
            value = value << 8 | Integer(byte)
        }
        return value
    }
}
