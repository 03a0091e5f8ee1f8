import Foundation

/// Splits CSV text into rows of fields (RFC 4180: quoted fields may hold commas, quotes doubled, newlines).
enum CSVRows {
    /// Works on the UTF-8 bytes (the delimiters are ASCII, which never occurs inside a multi-byte character), and
    /// makes each field a string once: appending scalar by scalar to a string took a worker about 40 ms at
    /// startup for the 1.5 MB conversion table.
    static func parse(_ text: String) -> [[String]] {
        let bytes = Array(text.utf8)
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var isQuoted = false
        var index = 0
        func endField() {
            row.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if isQuoted {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        isQuoted = false
                    }
                } else {
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): isQuoted = true
            case UInt8(ascii: ","): endField()
            case UInt8(ascii: "\r"): continue
            case UInt8(ascii: "\n"):
                endField()
                rows.append(row)
                row = []
            default: field.append(byte)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            endField()
            rows.append(row)
        }
        return rows
    }
}

extension StringProtocol {
    /// The text without leading and trailing `CharacterSet.whitespaces`, asking Foundation only when an end is
    /// whitespace (hardly any field of the reference tables: trimming every field took about 35 ms at startup).
    func trimmingWhitespace() -> String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last,
            !CharacterSet.whitespaces.contains(first), !CharacterSet.whitespaces.contains(last)
        else { return trimmingCharacters(in: .whitespaces) }
        return String(self)
    }
}
