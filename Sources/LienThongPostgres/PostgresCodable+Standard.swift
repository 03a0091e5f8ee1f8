public import struct Foundation.Date
public import struct Foundation.UUID

extension String: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .text }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .textArray }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.write(contentsOf: utf8)
    }

    @inlinable public var postgresEncodedSize: Int { utf8.count }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(String.self, accepting: .text, .varchar, .bpchar, .name, .json, .jsonb)
        // jsonb's binary form is a version byte followed by the text.
        self = String(decoding: cell.dataType == .jsonb ? bytes.dropFirst() : bytes, as: UTF8.self)
    }
}

extension Int64: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .int8 }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .int8Array }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(self)
    }

    @inlinable public var postgresEncodedSize: Int { 8 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(Int64.self, accepting: .int8, .int4, .int2)
        let value: Int64? =
            switch bytes.count {
            case 8: bytes.readBigEndian(Int64.self, at: 0)
            case 4: bytes.readBigEndian(Int32.self, at: 0).map(Int64.init)
            case 2: bytes.readBigEndian(Int16.self, at: 0).map(Int64.init)
            default: nil
            }
        guard let value else { throw cell.decodingError("malformed integer") }
        self = value
    }
}

extension Double: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .float8 }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .float8Array }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(Int64(bitPattern: bitPattern))
    }

    @inlinable public var postgresEncodedSize: Int { 8 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(Double.self, accepting: .float8)
        guard bytes.count == 8, let bits = bytes.readBigEndian(Int64.self, at: 0) else {
            throw cell.decodingError("malformed float8")
        }
        self = Double(bitPattern: UInt64(bitPattern: bits))
    }
}

extension Int32: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .int4 }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .int4Array }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(self)
    }

    @inlinable public var postgresEncodedSize: Int { 4 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(Int32.self, accepting: .int4, .int2)
        let value: Int32? =
            bytes.count == 4
            ? bytes.readBigEndian(Int32.self, at: 0) : bytes.readBigEndian(Int16.self, at: 0).map(Int32.init)
        guard let value else { throw cell.decodingError("malformed integer") }
        self = value
    }
}

extension Int: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .int8 }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .int8Array }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(Int64(self))
    }

    @inlinable public var postgresEncodedSize: Int { 8 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        self = Int(try Int64(postgresCell: cell))
    }
}

extension Bool: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .bool }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .boolArray }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(UInt8(self ? 1 : 0))
    }

    @inlinable public var postgresEncodedSize: Int { 1 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(Bool.self, accepting: .bool)
        guard bytes.count == 1 else { throw cell.decodingError("malformed bool") }
        self = bytes.first! != 0
    }
}

/// PostgreSQL counts timestamps in microseconds from 2000-01-01T00:00:00Z.
@usableFromInline let postgresEpochOffset: Double = 946_684_800

extension Date: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .timestamptz }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .timestamptzArray }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        let microseconds = ((timeIntervalSince1970 - postgresEpochOffset) * 1_000_000).rounded()
        writer.writeBigEndian(Int64(exactly: microseconds) ?? (microseconds > 0 ? .max : .min))
    }

    @inlinable public var postgresEncodedSize: Int { 8 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(Date.self, accepting: .timestamptz, .timestamp)
        guard bytes.count == 8, let microseconds = bytes.readBigEndian(Int64.self, at: 0) else {
            throw cell.decodingError("malformed timestamp")
        }
        switch microseconds {
        case .max: self = .distantFuture  // 'infinity'
        case .min: self = .distantPast  // '-infinity'
        default: self = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000 + postgresEpochOffset)
        }
    }
}

extension UUID: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { .uuid }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .uuidArray }

    public func encode(into writer: inout PostgresBinaryWriter) {
        Swift.withUnsafeBytes(of: uuid) { writer.write($0) }
    }

    @inlinable public var postgresEncodedSize: Int { 16 }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(UUID.self, accepting: .uuid)
        guard bytes.count == 16 else { throw cell.decodingError("malformed uuid") }
        let b = Array(bytes)
        self = UUID(
            uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
        )
    }
}

/// A `bytea` value.
public struct PostgresBytes: PostgresArrayElement, Hashable {
    /// The raw bytes.
    public var bytes: [UInt8]

    /// Wraps raw bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inlinable public static var postgresDataType: PostgresDataType { .bytea }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .byteaArray }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.write(contentsOf: bytes)
    }

    @inlinable public var postgresEncodedSize: Int { bytes.count }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        bytes = Array(try cell.requireBytes(PostgresBytes.self, accepting: .bytea))
    }
}

/// A `jsonb` value carried as its UTF-8 JSON text (the server parses and validates it).
public struct PostgresJSONB: PostgresArrayElement, Hashable {
    /// The JSON text as UTF-8.
    public var utf8: [UInt8]

    /// Wraps JSON text given as UTF-8 bytes.
    public init(utf8: [UInt8]) { self.utf8 = utf8 }
    /// Wraps JSON text.
    public init(_ text: String) { self.utf8 = Array(text.utf8) }

    /// The JSON text.
    public var text: String { String(decoding: utf8, as: UTF8.self) }

    @inlinable public static var postgresDataType: PostgresDataType { .jsonb }
    @inlinable public static var postgresArrayDataType: PostgresDataType { .jsonbArray }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeBigEndian(UInt8(1))  // jsonb binary format version
        writer.write(contentsOf: utf8)
    }

    @inlinable public var postgresEncodedSize: Int { 1 + utf8.count }

    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(PostgresJSONB.self, accepting: .jsonb, .json)
        if cell.dataType == .jsonb {
            guard bytes.first == 1 else { throw cell.decodingError("unknown jsonb format version") }
            utf8 = Array(bytes.dropFirst())
        } else {
            utf8 = Array(bytes)
        }
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    @inlinable public static var postgresDataType: PostgresDataType { Wrapped.postgresDataType }
    @inlinable public var isPostgresNull: Bool { self == nil }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        self?.encode(into: &writer)
    }

    @inlinable public var postgresEncodedSize: Int { self?.postgresEncodedSize ?? 0 }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    @inlinable
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        self = cell.bytes == nil ? nil : try Wrapped(postgresCell: cell)
    }
}

/// Arrays may hold NULLs: `[Date?]` binds as `timestamptz[]` with NULL elements.
extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    @inlinable public static var postgresArrayDataType: PostgresDataType { Wrapped.postgresArrayDataType }
}

/// One-dimensional arrays in PostgreSQL's binary array format: dimensions, a has-null flag, the element OID,
/// then each element with its length.
extension Array: PostgresEncodable where Element: PostgresArrayElement {
    @inlinable public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }

    @inlinable
    public func encode(into writer: inout PostgresBinaryWriter) {
        writer.writeArrayHeader(of: Element.self, count: count, hasNulls: contains { $0.isPostgresNull })
        for value in self { writer.writeLengthPrefixed(value) }
    }

    /// The header and each element with its 4-byte length.
    @inlinable public var postgresEncodedSize: Int {
        reduce(PostgresBinaryWriter.arrayHeaderSize(count: count)) { $0 + 4 + $1.postgresEncodedSize }
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes([Element].self, accepting: Element.postgresArrayDataType)
        guard let dimensions = bytes.readBigEndian(Int32.self, at: 0),
            let elementOID = bytes.readBigEndian(UInt32.self, at: 8)
        else { throw cell.decodingError("malformed array header") }
        guard dimensions <= 1 else { throw cell.decodingError("only one-dimensional arrays are supported") }
        guard dimensions == 1 else {
            self = []
            return
        }
        guard let count = bytes.readBigEndian(Int32.self, at: 12), count >= 0 else {
            throw cell.decodingError("malformed array dimension")
        }
        var result: [Element] = []
        result.reserveCapacity(Int(count))
        var offset = 20
        let elementType = PostgresDataType(oid: elementOID)
        for _ in 0..<count {
            guard let length = bytes.readBigEndian(Int32.self, at: offset) else {
                throw cell.decodingError("truncated array")
            }
            offset += 4
            let elementBytes: ArraySlice<UInt8>?
            if length < 0 {
                elementBytes = nil
            } else {
                guard offset + Int(length) <= bytes.count else { throw cell.decodingError("truncated array") }
                let start = bytes.startIndex + offset
                elementBytes = bytes[start..<(start + Int(length))]
                offset += Int(length)
            }
            result.append(try Element(postgresCell: PostgresCell(dataType: elementType, bytes: elementBytes)))
        }
        self = result
    }
}
