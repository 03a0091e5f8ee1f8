public import LienThongDomain

/// An inbound event with where it came from and its original bytes.
public struct ConsumedEvent: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    /// The Kafka value as received: its SHA-256 goes into the audit chain.
    public let bytes: [UInt8]
    public let event: InboundEvent

    public init(topic: String, partition: Int32, offset: Int64, bytes: [UInt8], event: InboundEvent) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.bytes = bytes
        self.event = event
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
}
