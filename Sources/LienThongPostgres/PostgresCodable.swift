/// A Swift value that can be sent to PostgreSQL as a binary parameter.
///
/// Conforming types write PostgreSQL's binary wire format (`…_send`) for ``postgresDataType``, in exactly
/// ``postgresEncodedSize`` bytes: bindings size the memory first and the value writes into it in place.
public protocol PostgresEncodable: Sendable {
    /// The parameter's PostgreSQL type.
    static var postgresDataType: PostgresDataType { get }
    /// Whether this value is SQL NULL (only `Optional.none` is).
    var isPostgresNull: Bool { get }
    /// Writes the binary representation (without a length prefix): exactly ``postgresEncodedSize`` bytes.
    func encode(into writer: inout PostgresBinaryWriter)
    /// The number of bytes ``encode(into:)`` writes.
    var postgresEncodedSize: Int { get }
}

extension PostgresEncodable {
    @inlinable public var isPostgresNull: Bool { false }
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

/// One result cell: its type and its binary bytes (nil for NULL).
///
/// A cell does not carry its column's name (that cost a retain and a release of the name per cell read): a row's
/// `decode` adds the name to the error of a cell that does not decode.
public struct PostgresCell: Sendable {
    /// The column's type.
    public let dataType: PostgresDataType
    /// The binary value, nil for SQL NULL.
    public let bytes: ArraySlice<UInt8>?

    /// Creates a cell (decoders create element cells this way).
    public init(dataType: PostgresDataType, bytes: ArraySlice<UInt8>?) {
        self.dataType = dataType
        self.bytes = bytes
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

    /// A decoding error (the row decoding the cell names its column).
    public func decodingError(_ reason: String) -> PostgresError {
        PostgresError(code: .decoding, message: reason)
    }
}

/// Writes a value's binary form into memory sized for it beforehand; a write past the end traps.
///
/// It exists only during ``PostgresEncodable/encode(into:)``: it cannot be copied out of it.
public struct PostgresBinaryWriter: ~Copyable {
    @usableFromInline let memory: UnsafeMutableRawBufferPointer
    @usableFromInline var position = 0

    @usableFromInline
    init(_ memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    /// Writes the integer's bytes, most significant first.
    @inlinable
    public mutating func writeBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        let size = MemoryLayout<Integer>.size
        precondition(size <= memory.count - position, "PostgreSQL value larger than its encoded size")
        memory.storeBytes(of: value.bigEndian, toByteOffset: position, as: Integer.self)
        position += size
    }

    /// Writes the bytes as they are, in one copy when they are contiguous in memory (arrays, native strings).
    @inlinable
    public mutating func write(contentsOf bytes: some Collection<UInt8>) {
        let copied: Void? = bytes.withContiguousStorageIfAvailable { write(UnsafeRawBufferPointer($0)) }
        guard copied == nil else { return }
        for byte in bytes { writeBigEndian(byte) }
    }

    @inlinable
    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= memory.count - position, "PostgreSQL value larger than its encoded size")
        if let source = bytes.baseAddress, let destination = memory.baseAddress {
            (destination + position).copyMemory(from: source, byteCount: bytes.count)
        }
        position += bytes.count
    }

    /// Writes the header of a one-dimensional array of `count` elements (none: an empty array, without a
    /// dimension). Each element follows, written by ``writeLengthPrefixed(_:)``.
    /// - Parameter hasNulls: whether any element is NULL (the header's flag).
    @inlinable
    public mutating func writeArrayHeader<Element: PostgresArrayElement>(
        of _: Element.Type, count: Int, hasNulls: Bool
    ) {
        writeBigEndian(Int32(count == 0 ? 0 : 1))  // dimensions
        writeBigEndian(Int32(hasNulls ? 1 : 0))
        writeBigEndian(Element.postgresDataType.oid)
        guard count > 0 else { return }
        writeBigEndian(Int32(count))
        writeBigEndian(Int32(1))  // lower bound
    }

    /// The size of ``writeArrayHeader(of:count:hasNulls:)``'s header: 12 bytes, 20 with a dimension.
    @inlinable
    public static func arrayHeaderSize(count: Int) -> Int { count == 0 ? 12 : 20 }

    /// Writes a value with its 32-bit length before it (-1 for NULL), the layout of array elements and of binary
    /// COPY fields.
    @inlinable
    public mutating func writeLengthPrefixed(_ value: some PostgresEncodable) {
        guard !value.isPostgresNull else {
            writeBigEndian(Int32(-1))
            return
        }
        writeBigEndian(Int32(value.postgresEncodedSize))
        let start = position
        value.encode(into: &self)
        assert(position - start == value.postgresEncodedSize, "\(type(of: value)) wrote another size than it declared")
    }
}

extension PostgresEncodable {
    /// How many bytes ``encode(into:)`` writes when given `room` bytes, whatever it declared (tests compare it
    /// with ``postgresEncodedSize``).
    func bytesWritten(givenRoom room: Int) -> Int {
        var memory = [UInt8](repeating: 0, count: room)
        return memory.withUnsafeMutableBytes { memory in
            var writer = PostgresBinaryWriter(memory)
            encode(into: &writer)
            return writer.position
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends the integer's bytes, most significant first, in one copy.
    @inlinable
    mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Appends `value`'s binary form after its 32-bit length (-1 for NULL), the layout of a binary COPY field,
    /// written in place into memory grown once to its size (appending piece by piece checked the array's uniqueness
    /// and capacity again for every piece).
    @inlinable
    mutating func appendLengthPrefixed(_ value: some PostgresEncodable) {
        let size = 4 + (value.isPostgresNull ? 0 : value.postgresEncodedSize)
        let start = count
        // Zeroes first (an array cannot grow uninitialised); a memset is far cheaper than the appends it replaces.
        append(contentsOf: repeatElement(0, count: size))
        withUnsafeMutableBytes { memory in
            var writer = PostgresBinaryWriter(UnsafeMutableRawBufferPointer(rebasing: memory[start...]))
            writer.writeLengthPrefixed(value)
            precondition(writer.position == size, "\(type(of: value)) wrote another size than it declared")
        }
    }

    /// `value`'s binary form (without a length prefix), written in place into memory of exactly its size.
    @inlinable
    init(encoding value: some PostgresEncodable) {
        let size = value.postgresEncodedSize
        self.init(unsafeUninitializedCapacity: size) { memory, initialized in
            var writer = PostgresBinaryWriter(UnsafeMutableRawBufferPointer(memory))
            value.encode(into: &writer)
            precondition(writer.position == size, "\(type(of: value)) wrote another size than it declared")
            initialized = size
        }
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
