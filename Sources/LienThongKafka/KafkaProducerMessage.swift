/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    /// The destination topic.
    public var topic: String
    /// A fixed partition, or nil to let the partitioner hash the key.
    public var partition: Int32?
    /// The key bytes; nil for a null key.
    public var key: [UInt8]? {
        get { keyBytes?.array }
        set { keyBytes = newValue.map(KafkaBytes.bytes) }
    }
    /// The value bytes; nil for a null value (a tombstone).
    public var value: [UInt8]? {
        get { valueBytes?.array }
        set { valueBytes = newValue.map(KafkaBytes.bytes) }
    }
    /// Headers, in order.
    public var headers: [KafkaHeader]

    /// The key as given: a string key is not copied into an array.
    var keyBytes: KafkaBytes?
    /// The value as given.
    var valueBytes: KafkaBytes?

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.init(
            topic: topic, partition: partition, keyBytes: key.map(KafkaBytes.bytes),
            valueBytes: value.map(KafkaBytes.bytes), headers: headers)
    }

    /// Creates a record with a UTF-8 string key and value.
    public init(topic: String, key: String?, value: String?, headers: [KafkaHeader] = []) {
        self.init(
            topic: topic, partition: nil, keyBytes: key.map(KafkaBytes.text), valueBytes: value.map(KafkaBytes.text),
            headers: headers)
    }

    /// Creates a record with a UTF-8 string key (the producer reads it in place, without an array copy).
    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: nil, keyBytes: .text(key), valueBytes: .bytes(value), headers: headers)
    }

    private init(
        topic: String, partition: Int32?, keyBytes: KafkaBytes?, valueBytes: KafkaBytes?, headers: [KafkaHeader]
    ) {
        self.topic = topic
        self.partition = partition
        self.keyBytes = keyBytes
        self.valueBytes = valueBytes
        self.headers = headers
    }
}

/// Where the broker stored a produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic and partition written to.
    public var topicPartition: KafkaTopicPartition
    /// The record's offset.
    public var offset: Int64
}
