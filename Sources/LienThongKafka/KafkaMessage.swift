/// A record consumed from Kafka.
///
/// Keys, values and headers are copied out of librdkafka's buffers; a null key or value (a tombstone) is `nil`,
/// never a crash.
public struct KafkaMessage: Sendable {
    /// The topic and partition the record came from.
    public var topicPartition: KafkaTopicPartition
    /// The record's offset in its partition.
    public var offset: Int64
    /// The key bytes, `nil` for a null key.
    public var key: [UInt8]?
    /// The value bytes, `nil` for a null value (a tombstone).
    public var value: [UInt8]?
    /// The headers in wire order; a header may repeat and its value may be null.
    public var headers: [KafkaHeader]
    /// The record timestamp, when the broker or producer set one.
    public var timestamp: KafkaTimestamp?
    /// Which assignment delivered the record: the consumer counts revocations, and a record fetched before the
    /// latest one is stale even if its partition was assigned back (see ``KafkaConsumer/owns(_:)``).
    public var assignmentGeneration: UInt64 = 0
    /// When the consumer's poll returned the record, in Unix milliseconds (the wall clock): the start of its
    /// consume-to-result latency. Nil for a message built by hand.
    public var consumedAtMilliseconds: Int64?

    /// Creates a message value (for tests and replays).
    public init(
        topicPartition: KafkaTopicPartition,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: KafkaTimestamp? = nil
    ) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The topic name.
    public var topic: String { topicPartition.topic }
    /// The partition number.
    public var partition: Int32 { topicPartition.partition }
    /// The offset to store once this record is processed: librdkafka 2.0.2 stores offsets as given, so the
    /// next record to read is `offset + 1`.
    public var nextOffset: Int64 { offset + 1 }

    /// The value of the first header named `name`.
    public func header(_ name: String) -> [UInt8]? {
        headers.first { $0.name == name }?.value
    }
}

/// A Kafka record header.
public struct KafkaHeader: Hashable, Sendable {
    /// The header name.
    public var name: String
    /// The header value, `nil` for a null value.
    public var value: [UInt8]? {
        get { valueBytes?.array }
        set { valueBytes = newValue.map(KafkaBytes.bytes) }
    }

    /// The value as given: a string value is kept as the string, which the producer reads in place.
    var valueBytes: KafkaBytes?

    /// Creates a header.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.valueBytes = value.map(KafkaBytes.bytes)
    }

    /// Creates a header with a UTF-8 string value.
    public init(name: String, string: String) {
        self.name = name
        self.valueBytes = .text(string)
    }

    public static func == (lhs: KafkaHeader, rhs: KafkaHeader) -> Bool {
        lhs.name == rhs.name && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(value)
    }
}

/// A record timestamp in milliseconds since the Unix epoch.
public struct KafkaTimestamp: Hashable, Sendable {
    /// Who set the timestamp.
    public enum Kind: Sendable, Hashable {
        /// The producer's create time.
        case createTime
        /// The broker's log-append time.
        case logAppendTime
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64
    /// Who set the timestamp.
    public var kind: Kind
}
