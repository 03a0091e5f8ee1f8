/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    /// The destination topic.
    public var topic: String
    /// A fixed partition, or nil to let the partitioner hash the key.
    public var partition: Int32?
    /// The key bytes; nil for a null key.
    public var key: [UInt8]?
    /// The value bytes; nil for a null value (a tombstone).
    public var value: [UInt8]?
    /// Headers, in order.
    public var headers: [KafkaHeader]

    /// Creates a record.
    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Creates a record with a UTF-8 string key and value.
    public init(topic: String, key: String?, value: String?, headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) }, headers: headers)
    }
}

/// Where the broker stored a produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic and partition written to.
    public var topicPartition: KafkaTopicPartition
    /// The record's offset.
    public var offset: Int64
}
