public import LienThongDomain

public import struct Foundation.Date

/// An inbound event with where it came from and its original bytes. A class: a batch passes each event through
/// several collections (lanes, the batch writer, held events, metrics), and a reference is one count to keep
/// instead of one per string and array inside.
public final class ConsumedEvent: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// The Kafka value as received: its SHA-256 goes into the audit chain.
    public let bytes: [UInt8]
    /// The Kafka key as received.
    public let key: [UInt8]?
    public let event: InboundEvent
    /// When the consumer handed the record out (nil: not known, e.g. an event held and read back from the table).
    public let consumedAt: Date?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, bytes: [UInt8], event: InboundEvent,
        consumedAt: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.bytes = bytes
        self.event = event
        self.consumedAt = consumedAt
    }
}

/// A record that cannot be processed (not decodable, or refused by the contract), kept whole for the
/// dead-letter topic.
public struct DeadLetter: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: [UInt8]?
    public let value: [UInt8]?
    /// The dead-letter error class, e.g. `malformed`, `schema_violation`, `invalid_transition`.
    public let errorClass: String
    /// The stable reason, e.g. `invalid_data_field.commune`.
    public let reason: String
    /// When the consumer handed the record out, if known.
    public let consumedAt: Date?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, errorClass: String,
        reason: String, consumedAt: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.errorClass = errorClass
        self.reason = reason
        self.consumedAt = consumedAt
    }
}

/// What became of one consumed event.
public enum EventOutcome: Sendable, Hashable {
    /// Applied: the dossier's new state and the decisions.
    case applied(DossierOutcome)
    /// Seen before (same event id, or a version already applied): no effect.
    case duplicate
    /// Refused by the state machine; recorded in the inbox with its reason, for the dead-letter topic.
    case rejected(DossierRejection)
    /// Refused by routing (unknown procedure or unit, no competent unit) or by the store; dead-lettered.
    case deadLettered(reason: String)
    /// Applied, and queued for a person to choose the unit (`reason`, e.g. `split_pre_merger_unit`).
    case triaged(reason: String)
    /// Held until the versions before it arrive (or triaged after the hold time).
    case held
}
