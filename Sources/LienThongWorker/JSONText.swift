import LienThongDomain

import struct Foundation.Date

/// Minimal JSON text building for outbox payloads (our own, fixed shapes).
enum JSONText {
    /// A JSON string literal.
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// An RFC 3339 timestamp at UTC+7 (Asia/Ho_Chi_Minh), second precision.
    static func timestamp(_ date: Date) -> String {
        let (day, seconds) = localTime(date)
        return "\(day)T\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))+07:00"
    }

    /// The national portal's `yyyyMMddHHmmss` at UTC+7.
    static func portalTimestamp(_ date: Date) -> String {
        let (day, seconds) = localTime(date)
        return
            "\(day.year)\(two(day.month))\(two(day.day))\(two(seconds / 3600))\(two(seconds / 60 % 60))\(two(seconds % 60))"
    }

    private static func localTime(_ date: Date) -> (day: CivilDate, seconds: Int) {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + 7 * 3600
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        return (CivilDate(daysSinceEpoch: days), Int(local - Int64(days) * 86_400))
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
