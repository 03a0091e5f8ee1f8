public import Crypto

import struct Foundation.Data

/// A citizen identity number (CCCD): exactly 12 ASCII digits.
///
/// Personal data (Law 91/2025/QH15): it never leaves the domain in clear. ``description`` is the masked form, so
/// string interpolation in a log line cannot leak it; lookups use ``keyedHash(using:)``.
public struct CitizenID: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private let digits: String

    /// Parses a CCCD after trimming surrounding spaces; full-width or other non-ASCII digits are rejected, not
    /// converted.
    /// - Throws: ``IdentifierError`` `.empty`, `.citizenIDLength` or `.citizenIDDigits`.
    public init(_ text: String) throws(IdentifierError) {
        try self.init(text[...])
    }

    /// Parses and validates a slice of a larger text.
    public init(_ text: Substring) throws(IdentifierError) {
        var trimmed = text
        while trimmed.first == " " { trimmed.removeFirst() }
        while trimmed.last == " " { trimmed.removeLast() }
        guard !trimmed.isEmpty else { throw IdentifierError(rule: .empty, kind: "citizen id") }
        let value = String(trimmed)
        guard value.isASCIIDigits else { throw IdentifierError(rule: .citizenIDDigits, kind: "citizen id") }
        guard value.utf8.count == 12 else { throw IdentifierError(rule: .citizenIDLength, kind: "citizen id") }
        digits = value
    }

    /// `********1234`: at most the last four digits visible.
    public var masked: String { String(repeating: "*", count: 8) + digits.suffix(4) }

    /// HMAC-SHA-256 of the digits under `key`, hex-encoded: a stable lookup key that cannot be reversed without
    /// the key.
    public func keyedHash(using key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(digits.utf8), using: key)
            .map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }
            .joined()
    }

    /// The digits, for the one place that must store or send them (never logs or monitoring).
    public var unmaskedDigits: String { digits }

    /// `text` with every run of exactly 12 ASCII digits (a CCCD, or something that could be one) in its
    /// ``masked`` form; longer or shorter digit runs (offsets, timestamps, unit codes) stay as they are. For free
    /// text leaving the process: log lines, operator printouts.
    public static func maskingEvery(in text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        var run = ""
        func flush() {
            output += run.utf8.count == 12 ? String(repeating: "*", count: 8) + run.suffix(4) : run
            run = ""
        }
        for character in text {
            if character.isASCII && character.isNumber {
                run.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        return output
    }

    public var description: String { masked }
    public var debugDescription: String { "CitizenID(\(masked))" }
}
