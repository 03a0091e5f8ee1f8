import Crypto

/// One history entry as it enters the tamper-evident chain.
public struct AuditRecord: Sendable, Hashable {
    public let dossier: String
    /// The entry's position in its dossier's chain, from 1.
    public let sequence: Int64
    public let version: Int64
    public let eventID: String
    public let eventType: String
    public let status: Int
    /// Milliseconds since 1970 (the precision PostgreSQL keeps and the chain hashes).
    public let occurredAtMilliseconds: Int64
    /// SHA-256 of the original event bytes: the evidence, without the personal data.
    public let payloadDigest: [UInt8]

    public init(
        dossier: String, sequence: Int64, version: Int64, eventID: String, eventType: String, status: Int,
        occurredAtMilliseconds: Int64, payloadDigest: [UInt8]
    ) {
        self.dossier = dossier
        self.sequence = sequence
        self.version = version
        self.eventID = eventID
        self.eventType = eventType
        self.status = status
        self.occurredAtMilliseconds = occurredAtMilliseconds
        self.payloadDigest = payloadDigest
    }

    /// A canonical, unambiguous encoding: each field length-prefixed, integers big-endian, after `prefix` (the
    /// previous hash when chaining). Written through an output span into an array of the exact size: appended to the
    /// array, each byte checked its uniqueness and capacity again, and it took twice as long.
    func canonicalBytes(after prefix: [UInt8]) -> [UInt8] {
        // Eight 4-byte length prefixes, four 8-byte integers and the texts and digest.
        let count =
            prefix.count + 8 * 4 + 4 * 8 + dossier.utf8.count + eventID.utf8.count + eventType.utf8.count
            + payloadDigest.count
        return Array(capacity: count) { bytes in
            for byte in prefix { bytes.append(byte) }
            Self.write(dossier.utf8, to: &bytes)
            Self.write(sequence, to: &bytes)
            Self.write(version, to: &bytes)
            Self.write(eventID.utf8, to: &bytes)
            Self.write(eventType.utf8, to: &bytes)
            Self.write(Int64(status), to: &bytes)
            Self.write(occurredAtMilliseconds, to: &bytes)
            Self.write(payloadDigest, to: &bytes)
        }
    }

    private static func write(_ text: String.UTF8View, to bytes: inout OutputSpan<UInt8>) {
        writeBigEndian(UInt32(text.count), to: &bytes)
        // In place: a native string's bytes are contiguous, and reading them through the view cost more.
        let copied: Void? = text.withContiguousStorageIfAvailable { utf8 in
            for byte in utf8 { bytes.append(byte) }
        }
        if copied == nil {
            for byte in text { bytes.append(byte) }
        }
    }

    private static func write(_ field: [UInt8], to bytes: inout OutputSpan<UInt8>) {
        writeBigEndian(UInt32(field.count), to: &bytes)
        for byte in field { bytes.append(byte) }
    }

    private static func write(_ value: Int64, to bytes: inout OutputSpan<UInt8>) {
        writeBigEndian(UInt32(8), to: &bytes)
        writeBigEndian(UInt32(truncatingIfNeeded: UInt64(bitPattern: value) >> 32), to: &bytes)
        writeBigEndian(UInt32(truncatingIfNeeded: value), to: &bytes)
    }

    private static func writeBigEndian(_ value: UInt32, to bytes: inout OutputSpan<UInt8>) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
}

/// The per-dossier hash chain of history entries: `hash = SHA-256(previous hash ‖ canonical record)`, starting
/// from 32 zero bytes. Changing, removing or reordering any entry breaks every later link.
public enum AuditChain {
    /// The previous hash of a dossier's first entry.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The hash of `record` chained to `previous`.
    public static func hash(_ record: AuditRecord, previous: [UInt8]) -> [UInt8] {
        bytes(of: SHA256.hash(data: record.canonicalBytes(after: previous)))
    }

    /// A digest's 32 bytes in one allocation (`Array(digest)` grew byte by byte from empty).
    private static func bytes(of digest: SHA256.Digest) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(SHA256.byteCount)
        bytes.append(contentsOf: digest)
        return bytes
    }

    /// The SHA-256 digest of an event's original bytes.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        self.bytes(of: SHA256.hash(data: bytes))
    }

    /// Recomputes a dossier's chain (entries in sequence order, each with its stored hash) and returns the
    /// sequence of the first entry whose stored hash or sequence does not match, or nil if the chain holds.
    public static func firstBrokenLink(_ entries: [(record: AuditRecord, storedHash: [UInt8])]) -> Int64? {
        var previous = genesis
        for (index, entry) in entries.enumerated() {
            guard entry.record.sequence == Int64(index + 1), hash(entry.record, previous: previous) == entry.storedHash
            else {
                return entry.record.sequence
            }
            previous = entry.storedHash
        }
        return nil
    }
}
