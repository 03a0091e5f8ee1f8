/// Configuration of a ``KafkaConsumer``.
///
/// Typed fields cover what the wrapper relies on; ``properties`` passes any other librdkafka property through
/// (see librdkafka's CONFIGURATION.md for 2.0.2) and is applied last, so it can override a typed default
/// deliberately. An unknown or invalid property fails ``KafkaConsumer/init(configuration:rebalanceHandler:eventHandler:logger:)``
/// with the property's name.
public struct KafkaConsumerConfiguration: Sendable {
    /// `bootstrap.servers`: comma-separated `host:port` list. Required.
    public var bootstrapServers: String
    /// `group.id`. Required.
    public var groupID: String
    /// `group.instance.id` for static membership (a stable id per pod). Default: none.
    public var groupInstanceID: String?
    /// `partition.assignment.strategy`. Default: `.range`.
    public var assignor: KafkaPartitionAssignor = .range
    /// `auto.offset.reset` for a partition without a committed offset. Default: `.earliest`
    /// (librdkafka's own default, `largest`, would silently skip a new group's backlog).
    public var autoOffsetReset: KafkaOffsetReset = .earliest
    /// `session.timeout.ms`. Default: 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// `max.poll.interval.ms`. Default: 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// `auto.commit.interval.ms` for stored offsets; `nil` disables automatic commits (`enable.auto.commit=false`),
    /// leaving ``KafkaConsumer/commit()`` as the only way to commit. Default: 5 s.
    public var autoCommitInterval: Duration? = .seconds(5)
    /// `statistics.interval.ms`; `nil` disables statistics. Default: none.
    public var statisticsInterval: Duration?
    /// A batch is handed to Swift when it holds this many messages. Default: 1000.
    public var maxBatchSize: Int = 1000
    /// ...or when its first message has waited this long. Default: 10 ms.
    public var maxBatchWait: Duration = .milliseconds(10)
    /// Messages buffered between the poll thread and Swift before the poll thread stops taking more; it takes
    /// more again below half of it. Default: 20,000.
    public var maxBufferedMessages: Int = 20_000
    /// How long the poll thread, its buffer full, stops polling before it pauses the partitions instead.
    /// While it does not poll, librdkafka keeps what it prefetched (within `queued.max.messages.kbytes`) and stops
    /// fetching on its own; a pause makes librdkafka 2.0.2 drop that prefetch and fetch it again after the resume
    /// (twice the fetched records in a backlog). Rebalances and callbacks wait up to this long; zero pauses at once.
    /// Default: 1 s.
    public var fullBufferHold: Duration = .seconds(1)
    /// How long one `rd_kafka_consumer_poll` call blocks when idle (also the heartbeat granularity). Default: 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Any further librdkafka properties, applied last.
    public var properties: [String: String] = [:]

    /// Creates a configuration with the required fields; every other field has its documented default.
    public init(bootstrapServers: String, groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    /// The librdkafka properties in the order they are applied.
    /// - Throws: ``KafkaError`` `.invalidConfiguration` for values that break the wrapper's contract.
    func librdkafkaProperties() throws(KafkaError) -> [(name: String, value: String)] {
        guard maxBatchSize > 0 else {
            throw KafkaError(code: .invalidConfiguration, reason: "must be positive", property: "maxBatchSize")
        }
        guard maxBufferedMessages >= maxBatchSize else {
            throw KafkaError(
                code: .invalidConfiguration, reason: "must be at least maxBatchSize", property: "maxBufferedMessages")
        }
        guard fullBufferHold >= .zero, fullBufferHold < maxPollInterval else {
            throw KafkaError(
                code: .invalidConfiguration, reason: "must be at least zero and below maxPollInterval",
                property: "fullBufferHold")
        }
        var result: [(name: String, value: String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("group.id", groupID),
            ("partition.assignment.strategy", assignor.rawValue),
            ("auto.offset.reset", autoOffsetReset.rawValue),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.milliseconds)),
            ("enable.auto.commit", autoCommitInterval == nil ? "false" : "true"),
        ]
        if let autoCommitInterval {
            result.append(("auto.commit.interval.ms", String(autoCommitInterval.milliseconds)))
        }
        if let groupInstanceID { result.append(("group.instance.id", groupInstanceID)) }
        if let statisticsInterval { result.append(("statistics.interval.ms", String(statisticsInterval.milliseconds))) }
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (name, value) in result where name == "partition.assignment.strategy" && value.contains("cooperative") {
            // librdkafka 2.0.2's incremental rebalancing loses assignments under manual commits (fixed in 2.10).
            throw KafkaError(
                code: .invalidConfiguration,
                reason: "cooperative-sticky is unsafe with librdkafka 2.0.2; use range or roundrobin",
                property: name
            )
        }
        return result
    }
}

/// An eager partition assignor (the only kind that is safe on librdkafka 2.0.2).
public enum KafkaPartitionAssignor: String, Sendable {
    /// `range`: contiguous partition ranges per topic.
    case range
    /// `roundrobin`: partitions dealt out in turn.
    case roundRobin = "roundrobin"
}

/// Where a consumer starts in a partition that has no committed offset.
public enum KafkaOffsetReset: String, Sendable {
    /// The oldest retained record.
    case earliest
    /// Only records produced after the assignment.
    case latest
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
