import Foundation

/// Text from outside, normalised at the boundary: Unicode NFC (PostgreSQL compares bytes, so an NFD
/// "Phường" would be another key) and free of characters that have no place in names and codes.
public struct NormalizedText: Hashable, Sendable, CustomStringConvertible {
    /// Why a text was refused.
    public enum Rejection: String, Error, Sendable {
        /// U+0000: PostgreSQL rejects it in text and jsonb, on every retry.
        case nulCharacter = "nul_character"
        /// A C0 or C1 control character other than tab and newline.
        case controlCharacter = "control_character"
        /// A bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069), which can disguise text.
        case bidirectionalOverride = "bidirectional_override"
    }

    /// The NFC text.
    public let value: String

    /// Normalises `text` to NFC after checking its characters.
    /// - Throws: ``Rejection``.
    public init(_ text: String) throws(Rejection) {
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0: throw .nulCharacter
            case 0x09, 0x0A, 0x0D: continue
            case 0x01...0x1F, 0x7F...0x9F: throw .controlCharacter
            case 0x202A...0x202E, 0x2066...0x2069: throw .bidirectionalOverride
            default: continue
            }
        }
        value = Self.nfc(text)
    }

    /// The NFC form of `text`; idempotent.
    public static func nfc(_ text: String) -> String {
        // Decompose first: Foundation's precomposition on Linux leaves some marks out of canonical order when a
        // decomposable scalar sits among them (found by the property test: U+1DCC before U+0F75).
        isTriviallyNFC(text) ? text : text.decomposedStringWithCanonicalMapping.precomposedStringWithCanonicalMapping
    }

    /// Text made only of scalars below U+0300 (no combining marks; nothing there decomposes to anything else
    /// in NFC) or in Latin Extended Additional (U+1E00–U+1EFF, where precomposed Vietnamese letters such as "ễ"
    /// live) is already NFC: the common case, which skips Foundation's normaliser.
    static func isTriviallyNFC(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value < 0x300 || (0x1E00...0x1EFF).contains($0.value) }
    }

    public var description: String { value }
}
