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
        bytes.append(addingCapacity: 27) { text in
            text.append(UInt8(ascii: "\""))
            Self.writeTwoDigits(day.year / 100, to: &text)
            Self.writeTwoDigits(day.year % 100, to: &text)
            text.append(UInt8(ascii: "-"))
            Self.writeTwoDigits(day.month, to: &text)
            text.append(UInt8(ascii: "-"))
            Self.writeTwoDigits(day.day, to: &text)
            text.append(UInt8(ascii: "T"))
            Self.writeTwoDigits(seconds / 3600, to: &text)
            text.append(UInt8(ascii: ":"))
            Self.writeTwoDigits(seconds / 60 % 60, to: &text)
            text.append(UInt8(ascii: ":"))
            Self.writeTwoDigits(seconds % 60, to: &text)
            for byte in "+07:00\"".utf8 { text.append(byte) }
        }
    }

    /// The national portal's `yyyyMMddHHmmss` at UTC+7.
    mutating func field(_ key: StaticString, portalTimestamp: Date) {
        self.key(key)
        let (day, seconds) = Self.localTime(portalTimestamp)
        bytes.append(addingCapacity: 16) { text in
            text.append(UInt8(ascii: "\""))
            Self.writeTwoDigits(day.year / 100, to: &text)
            Self.writeTwoDigits(day.year % 100, to: &text)
            Self.writeTwoDigits(day.month, to: &text)
            Self.writeTwoDigits(day.day, to: &text)
            Self.writeTwoDigits(seconds / 3600, to: &text)
            Self.writeTwoDigits(seconds / 60 % 60, to: &text)
            Self.writeTwoDigits(seconds % 60, to: &text)
            text.append(UInt8(ascii: "\""))
        }
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
        if startMember() { bytes.append(UInt8(ascii: ",")) }
    }

    /// Whether the member about to be written needs a comma before it; every later member of the object will.
    private mutating func startMember() -> Bool {
        defer { needsComma = true }
        return needsComma
    }

    /// The comma before a member when it is not the first, then `"key":`, reserved at once: byte by byte, each
    /// append checked the array's uniqueness and capacity again.
    private mutating func key(_ key: StaticString) {
        let needsComma = startMember()
        key.withUTF8Buffer { name in
            bytes.append(addingCapacity: name.count + 4) { text in
                if needsComma { text.append(UInt8(ascii: ",")) }
                text.append(UInt8(ascii: "\""))
                for byte in name { text.append(byte) }
                text.append(UInt8(ascii: "\""))
                text.append(UInt8(ascii: ":"))
            }
        }
    }

    private mutating func appendNull() {
        bytes.append(contentsOf: "null".utf8)
    }

    /// A JSON string literal: quote, backslash and control characters escaped, everything else as is.
    private mutating func appendString(_ text: String) {
        // Codes, names and timestamps rarely need escaping: copy their contiguous UTF-8 between the quotes in one
        // pass, and start again escaping if a byte needs it. Read in place: a copy of the string to make it
        // contiguous (`withUTF8`) cost a retain and a release, and native strings already are.
        let copiedWhole =
            text.utf8.withContiguousStorageIfAvailable { utf8 in
                var needsEscaping = false
                bytes.append(addingCapacity: utf8.count + 2) { literal in
                    literal.append(UInt8(ascii: "\""))
                    for byte in utf8 {
                        guard byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else {
                            needsEscaping = true
                            break
                        }
                        literal.append(byte)
                    }
                    if needsEscaping { literal.removeAll() } else { literal.append(UInt8(ascii: "\"")) }
                }
                return !needsEscaping
            } ?? false
        if copiedWhole { return }
        bytes.append(UInt8(ascii: "\""))
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
        // A sign and 19 digits at most. The digits are written last first, then put in order.
        bytes.append(addingCapacity: 20) { text in
            if value < 0 { text.append(UInt8(ascii: "-")) }
            var low = text.count
            var rest = value.magnitude
            repeat {
                text.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10))
                rest /= 10
            } while rest > 0
            var high = text.count - 1
            while low < high {
                text.swapAt(low, high)
                low += 1
                high -= 1
            }
        }
    }

    /// Two decimal digits of `value` (0...99).
    private static func writeTwoDigits(_ value: Int, to text: inout OutputSpan<UInt8>) {
        text.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10))
        text.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func localTime(_ date: Date) -> (day: CivilDate, seconds: Int) {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + 7 * 3600
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        return (CivilDate(daysSinceEpoch: days), Int(local - Int64(days) * 86_400))
    }
}
