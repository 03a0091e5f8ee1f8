public import CoreMetrics
import LienThongDomain
public import LienThongKafka
public import Logging
import Synchronization

/// The worker's metrics, created once per bounded label set and cached (swift-metrics; the process bootstraps
/// the Prometheus factory). Labels are event types, outcomes, error classes, warning kinds and partitions: never
/// a dossier code, a unit code, a name or a CCCD.
public final class WorkerMetrics: Sendable {
    /// Metric names, Prometheus style: `_total` counters, `_seconds` durations.
    public enum Name {
        public static let events = "lienthong_events_total"
        public static let deadLetters = "lienthong_dead_letters_total"
        public static let batchSize = "lienthong_batch_size"
        public static let transactionDuration = "lienthong_batch_transaction_duration_seconds"
        public static let applyLatency = "lienthong_event_apply_latency_seconds"
        public static let publishLatency = "lienthong_outbox_publish_latency_seconds"
        public static let published = "lienthong_outbox_published_total"
        public static let outboxRowsRead = "lienthong_outbox_rows_read_total"
        public static let outboxBacklog = "lienthong_outbox_backlog"
        public static let outboxOldestAge = "lienthong_outbox_oldest_age_seconds"
        public static let slaWarnings = "lienthong_sla_warnings_total"
        public static let rebalances = "lienthong_rebalances_total"
        public static let consumerLag = "lienthong_consumer_lag"
        public static let consumerCommittedOffset = "lienthong_consumer_committed_offset"
        public static let overdueDossiers = "lienthong_dossiers_overdue"
        public static let openTriage = "lienthong_triage_open"
        public static let retries = "lienthong_batch_retries_total"
        public static let kafkaErrors = "lienthong_kafka_errors_total"
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    private let batchSize: Recorder
    private let transactionDuration: Timer
    private let applyLatency: Timer
    private let publishLatency: Timer

    /// Creates the metrics on `factory` (nil: the bootstrapped one, a no-op one if none was bootstrapped).
    public init(factory: (any MetricsFactory)? = nil) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        batchSize = Recorder(label: Name.batchSize, dimensions: [], aggregate: true, factory: factory)
        transactionDuration = Timer(label: Name.transactionDuration, dimensions: [], factory: factory)
        applyLatency = Timer(label: Name.applyLatency, dimensions: [], factory: factory)
        publishLatency = Timer(label: Name.publishLatency, dimensions: [], factory: factory)
        // Series that rate() and alerts read exist from the start, at 0.
        for transient in [true, false] { counter(Name.retries, [("transient", String(transient))]).increment(by: 0) }
        for kind in ["assigned", "revoked", "lost"] { counter(Name.rebalances, [("kind", kind)]).increment(by: 0) }
        counter(Name.published, []).increment(by: 0)
        for source in ["memory", "table"] { counter(Name.outboxRowsRead, [("source", source)]).increment(by: 0) }
    }

    /// The shared instance every component of a process reports to.
    public static let shared = WorkerMetrics()

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Counter {
        Self.cached(name, dimensions, in: counters) { Counter(label: name, dimensions: dimensions, factory: factory) }
    }

    private func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> Gauge {
        Self.cached(name, dimensions, in: gauges) { Gauge(label: name, dimensions: dimensions, factory: factory) }
    }

    /// A metric's key in the caches.
    private static func key(_ name: String, _ dimensions: [(String, String)]) -> String {
        ([name] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "|")
    }

    /// The metric of `name` and `dimensions` from `cache`, made once.
    private static func cached<Metric>(
        _ name: String, _ dimensions: [(String, String)], in cache: borrowing Mutex<[String: Metric]>,
        make: () -> Metric
    ) -> Metric {
        let key = key(name, dimensions)
        return cache.withLock { metrics in
            if let metric = metrics[key] { return metric }
            let metric = make()
            metrics[key] = metric
            return metric
        }
    }

    /// Counts a written batch: events by type and outcome, its size and its transaction's duration.
    func recordBatch(
        events: [ConsumedEvent], outcomes: [EventOutcome], deadLetters: [DeadLetter], transaction: Duration
    ) {
        // Counted by type and outcome first; labels are made once per pair, not per event.
        var counts: [InboundEventType: [String: Int]] = [:]
        for (event, outcome) in zip(events, outcomes) {
            counts[event.event.type, default: [:]][outcome.metricLabel, default: 0] += 1
        }
        for (type, byOutcome) in counts {
            for (outcome, count) in byOutcome {
                counter(Name.events, [("type", type.metricLabel), ("outcome", outcome)]).increment(by: count)
            }
        }
        var undecodable: [String: Int] = [:]
        for letter in deadLetters { undecodable[letter.errorClass, default: 0] += 1 }
        for (errorClass, count) in undecodable {
            counter(Name.events, [("type", "undecodable"), ("outcome", "dead_lettered")]).increment(by: count)
            counter(Name.deadLetters, [("error_class", errorClass)]).increment(by: count)
        }
        for outcome in outcomes {
            switch outcome {
            case .rejected: counter(Name.deadLetters, [("error_class", "invalid_transition")]).increment()
            case .deadLettered: counter(Name.deadLetters, [("error_class", "refused")]).increment()
            default: break
            }
        }
        batchSize.record(events.count + deadLetters.count)
        transactionDuration.recordNanoseconds(transaction.nanoseconds)
    }

    /// Records how long after its Kafka timestamp an event was committed.
    func recordApplyLatency(milliseconds: Int64) {
        applyLatency.recordNanoseconds(max(0, milliseconds) * 1_000_000)
    }

    /// Records a batch retry after a transient failure.
    func recordRetry(transient: Bool) {
        counter(Name.retries, [("transient", String(transient))]).increment()
    }

    /// Records outbox rows confirmed by the broker, and how long each waited after its commit.
    func recordPublished(count: Int, waits: [Duration]) {
        counter(Name.published, []).increment(by: count)
        for wait in waits { publishLatency.recordNanoseconds(wait.nanoseconds) }
    }

    /// Records where a relay round found its outbox rows' records: in this process's memory or in the table.
    func recordOutboxRowsRead(fromMemory: Int, fromTable: Int) {
        if fromMemory > 0 { counter(Name.outboxRowsRead, [("source", "memory")]).increment(by: fromMemory) }
        if fromTable > 0 { counter(Name.outboxRowsRead, [("source", "table")]).increment(by: fromTable) }
    }

    /// Records SLA warnings emitted by a deadline scan (every kind appears, 0 included, once a scan ran).
    func recordWarnings(_ warnings: [SLAWarning: Int]) {
        for warning in SLAWarning.allCases {
            counter(Name.slaWarnings, [("warning", warning.rawValue)]).increment(by: warnings[warning] ?? 0)
        }
    }

    /// Records a rebalance notice: `assigned`, `revoked` or `lost`.
    public func recordRebalance(_ kind: String) {
        counter(Name.rebalances, [("kind", kind)]).increment()
    }

    /// Counts an error a Kafka client reported, by client (`consumer`, `producer`) and librdkafka error name, and
    /// logs it as `kafka <client> error`: at error level when it is fatal, at `level` otherwise.
    public func recordKafkaError(
        client: String, _ error: KafkaError, logger: Logger, level: Logger.Level = .warning
    ) {
        counter(Name.kafkaErrors, [("client", client), ("error", error.librdkafkaName ?? "\(error.code)")]).increment()
        logger.log(
            level: error.isFatal ? .error : level, "kafka \(client) error",
            metadata: [KafkaLoggingKeys.error: "\(error)"])
    }

    /// Sets one partition's lag and committed offset, those that are known (from librdkafka's statistics).
    public func setConsumerPartition(_ statistics: ConsumerPartitionStatistics) {
        let dimensions = Self.partitionDimensions(statistics.topic, statistics.partition)
        if let lag = statistics.lag { gauge(Name.consumerLag, dimensions).record(lag) }
        if let offset = statistics.committedOffset { gauge(Name.consumerCommittedOffset, dimensions).record(offset) }
    }

    /// Removes the lag and committed offset series of partitions this member no longer owns: librdkafka stops
    /// reporting them, and the last values would otherwise stay exposed while another member drains them.
    public func forgetConsumerPartitions(_ partitions: [KafkaTopicPartition]) {
        let forgotten = gauges.withLock { gauges in
            partitions.flatMap { partition in
                let dimensions = Self.partitionDimensions(partition.topic, partition.partition)
                return [Name.consumerLag, Name.consumerCommittedOffset].compactMap { name in
                    gauges.removeValue(forKey: Self.key(name, dimensions))
                }
            }
        }
        for gauge in forgotten { gauge.destroy() }
    }

    private static func partitionDimensions(_ topic: String, _ partition: Int32) -> [(String, String)] {
        [("topic", topic), ("partition", String(partition))]
    }

    /// Sets the store-wide gauges sampled by ``OperationalGauges``.
    func setStoreGauges(_ sample: OperationalGauges.Sample) {
        gauge(Name.outboxBacklog).record(sample.outboxBacklog)
        gauge(Name.outboxOldestAge).record(sample.oldestUnpublishedAge)
        gauge(Name.overdueDossiers).record(sample.overdueDossiers)
        gauge(Name.openTriage).record(sample.openTriage)
    }
}

extension InboundEventType {
    /// The short label of this type: `status-changed`, `submitted`, …
    var metricLabel: String {
        String(rawValue.split(separator: ".").last ?? "")
    }
}

extension EventOutcome {
    /// The `outcome` label: applied, duplicate, rejected, dead_lettered, triaged or held.
    var metricLabel: String {
        switch self {
        case .applied: "applied"
        case .duplicate: "duplicate"
        case .rejected: "rejected"
        case .deadLettered: "dead_lettered"
        case .triaged: "triaged"
        case .held: "held"
        }
    }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
