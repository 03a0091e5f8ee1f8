/// Bytes handed to the producer: an array, or a string whose UTF-8 librdkafka copies in place, so that a record
/// built from strings (keys, header values) needs no array per field.
enum KafkaBytes: Sendable {
    case bytes([UInt8])
    case text(String)

    /// The bytes as an array (a copy for a string).
    var array: [UInt8] {
        switch self {
        case .bytes(let bytes): bytes
        case .text(let text): Array(text.utf8)
        }
    }

    /// Calls `body` with the bytes in place; an empty value gets a non-null base address, as librdkafka needs.
    func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        switch self {
        case .bytes(let bytes): Self.withBytes(of: bytes, body)
        case .text(let text): Self.withUTF8(of: text, body)
        }
    }

    /// Calls `body` with an array's bytes in place (non-null when empty).
    static func withBytes<T>(of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> T) -> T {
        bytes.isEmpty ? withEmptyBytes(body) : bytes.withUnsafeBytes(body)
    }

    /// Calls `body` with a string's UTF-8 in place (non-null when empty). A native string's bytes are read where
    /// they are; only a bridged one is copied to be made contiguous.
    static func withUTF8<T>(of text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        guard !text.isEmpty else { return withEmptyBytes(body) }
        if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var contiguous = text
        return contiguous.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    private static func withEmptyBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        Swift.withUnsafeBytes(of: UInt8(0)) { body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
    }
}

extension Optional where Wrapped == KafkaBytes {
    /// Calls `body` with the bytes in place, or an empty buffer with a nil base address for nil (a null field).
    func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        switch self {
        case .some(let bytes): bytes.withUnsafeBytes(body)
        case .none: body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }
}
