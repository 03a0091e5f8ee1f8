/// Something a Kafka client reports outside the message flow, delivered to the event handler on the client's
/// poll thread.
///
/// - Important: the handler runs on the poll thread: keep it O(1) (record, count, hand off).
public enum KafkaClientEvent: Sendable {
    /// A librdkafka statistics JSON document (`statistics.interval.ms`).
    case statistics(String)
    /// An error librdkafka reported outside a call (broker down, authentication, fatal).
    case error(KafkaError)
    /// Partitions were assigned (after the rebalance handler ran).
    case assigned([KafkaTopicPartition])
    /// Partitions were revoked (after the rebalance handler ran); `lost` if the assignment was lost.
    case revoked([KafkaTopicPartition], lost: Bool)
    /// An automatic or asynchronous offset commit finished; `nil` on success.
    case committed(KafkaError?)
}

/// Metadata keys of the Kafka wrapper's log messages.
public enum KafkaLoggingKeys {
    public static let topic = "kafka.topic"
    public static let partition = "kafka.partition"
    public static let facility = "kafka.facility"
    public static let error = "kafka.error"
    public static let count = "kafka.count"
}
