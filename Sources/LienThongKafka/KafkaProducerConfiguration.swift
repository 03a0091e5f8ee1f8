/// Configuration of a ``KafkaProducer``.
///
/// The safe defaults are set explicitly, whatever librdkafka's own defaults: `enable.idempotence=true` and
/// `acks=all`. ``properties`` passes any other librdkafka property through and is applied last.
public struct KafkaProducerConfiguration: Sendable {
    /// `bootstrap.servers`. Required.
    public var bootstrapServers: String
    /// `enable.idempotence`. Default: true (exactly-once writes and per-partition order across retries).
    public var isIdempotent: Bool = true
    /// `linger.ms`: how long librdkafka gathers a batch. Default: 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `message.timeout.ms`: how long delivery may take, retries included, before a message fails. Default: 300 s.
    public var deliveryTimeout: Duration = .seconds(300)
    /// `queue.buffering.max.messages`: messages waiting for delivery before `produce` waits for space.
    /// Default: 100,000.
    public var maxQueuedMessages: Int = 100_000
    /// `statistics.interval.ms`; `nil` disables statistics. Default: none.
    public var statisticsInterval: Duration?
    /// How long the poll thread blocks in `rd_kafka_poll` when idle. Default: 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Any further librdkafka properties, applied last.
    public var properties: [String: String] = [:]

    /// Creates a configuration; every field but the brokers has its documented default.
    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    /// The librdkafka properties in the order they are applied.
    func librdkafkaProperties() -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("enable.idempotence", isIdempotent ? "true" : "false"),
            ("acks", "all"),
            ("linger.ms", String(linger.milliseconds)),
            ("message.timeout.ms", String(deliveryTimeout.milliseconds)),
            ("queue.buffering.max.messages", String(maxQueuedMessages)),
        ]
        if let statisticsInterval { result.append(("statistics.interval.ms", String(statisticsInterval.milliseconds))) }
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}
