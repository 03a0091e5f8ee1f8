import LienThongDomain

import struct Foundation.Date

/// Writes a JSON object as UTF-8 bytes, field by field, for the outbox payloads (our own fixed shapes). No
/// intermediate strings: building payloads was most of the worker's CPU time when it concatenated them.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// Starts the top-level object.
    init(capacity: Int = 384) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Closes the top-level object and hands over the text, leaving the writer empty. (Not `consuming`: called on
    /// a variable, that copied the writer, and closing the object then copied its whole buffer.)
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        defer { bytes = [] }
        return bytes
    }

    mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        appendString(value)
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        self.key(key)
        if let value { appendString(value) } else { appendNull() }
    }

    mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        appendInteger(value)
    }

    mutating func field(_ key: StaticString, _ value: Int) {
        field(key, Int64(value))
    }

    mutating func field(_ key: StaticString, _ value: Int?) {
        self.key(key)
        if let value { appendInteger(Int64(value)) } else { appendNull() }
    }

    /// An RFC 3339 timestamp at UTC+7 (Asia/Ho_Chi_Minh), second precision.
    mutating func field(_ key: StaticString, timestamp: Date) {
        self.key(key)
        let (day, seconds) = Self.localTime(timestamp)
        bytes.append(UInt8(ascii: "\""))
        appendDigits(day.year, count: 4)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(day.month, count: 2)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(day.day, count: 2)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(seconds / 3600, count: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(seconds / 60 % 60, count: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(seconds % 60, count: 2)
        bytes.append(contentsOf: "+07:00\"".utf8)
    }

    /// The national portal's `yyyyMMddHHmmss` at UTC+7.
    mutating func field(_ key: StaticString, portalTimestamp: Date) {
        self.key(key)
        let (day, seconds) = Self.localTime(portalTimestamp)
        bytes.append(UInt8(ascii: "\""))
        appendDigits(day.year, count: 4)
        appendDigits(day.month, count: 2)
        appendDigits(day.day, count: 2)
        appendDigits(seconds / 3600, count: 2)
        appendDigits(seconds / 60 % 60, count: 2)
        appendDigits(seconds % 60, count: 2)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ key: StaticString, strings: [String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A field whose name is not known in advance (headers).
    mutating func field(named key: String, _ value: String) {
        comma()
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
        appendString(value)
    }

    /// Opens a nested object under `key`; close it with ``endObject()``.
    mutating func beginObject(_ key: StaticString) {
        self.key(key)
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    private mutating func comma() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func key(_ key: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func appendNull() {
        bytes.append(contentsOf: "null".utf8)
    }

    /// A JSON string literal: quote, backslash and control characters escaped, everything else as is.
    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Codes, names and timestamps rarely need escaping: scan their contiguous UTF-8 and copy it whole rather
        // than byte by byte (the scan through `String.UTF8View` cost more than the copy). Read in place: a copy of
        // the string to make it contiguous (`withUTF8`) cost a retain and a release, and native strings already are.
        let copiedWhole =
            text.utf8.withContiguousStorageIfAvailable { utf8 in
                guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
                else { return false }
                bytes.append(contentsOf: utf8)
                return true
            } ?? false
        if copiedWhole {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    private mutating func appendDigits(_ value: Int, count: Int) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func localTime(_ date: Date) -> (day: CivilDate, seconds: Int) {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + 7 * 3600
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        return (CivilDate(daysSinceEpoch: days), Int(local - Int64(days) * 86_400))
    }
}
