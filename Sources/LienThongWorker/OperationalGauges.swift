import Foundation
public import LienThongPostgres
public import Logging

/// Samples store-wide figures for `/metrics` and the alert rules: outbox backlog and its oldest row's age,
/// overdue open dossiers, open triage entries.
public struct OperationalGauges: Sendable {
    /// One sample.
    public struct Sample: Sendable, Hashable {
        /// Outbox rows not yet confirmed by the broker.
        public var outboxBacklog = 0
        /// Seconds since the oldest unpublished row was committed (0 when none).
        public var oldestUnpublishedAge = 0.0
        /// Open dossiers past their due date, clock running.
        public var overdueDossiers = 0
        /// Triage entries nobody resolved yet.
        public var openTriage = 0
    }

    private let metrics: WorkerMetrics

    /// Creates the sampler reporting to `metrics`.
    public init(metrics: WorkerMetrics = .shared) {
        self.metrics = metrics
    }

    /// Reads one sample and sets the gauges.
    @discardableResult
    public func sample(on connection: PostgresConnection) async throws -> Sample {
        let row = try await connection.query(
            """
            SELECT (SELECT records FROM outbox_backlog),
                   coalesce((SELECT extract(epoch FROM now() - oldest_created_at)::float8 FROM outbox_backlog), 0),
                   (SELECT count(*) FROM dossier WHERE resolved_at IS NULL AND paused_at IS NULL AND due_at < now()),
                   (SELECT count(*) FROM triage WHERE resolved_at IS NULL)
            """)[0]
        let sample = Sample(
            outboxBacklog: try row.decode(Int.self, at: 0), oldestUnpublishedAge: try row.decode(Double.self, at: 1),
            overdueDossiers: try row.decode(Int.self, at: 2), openTriage: try row.decode(Int.self, at: 3))
        metrics.setStoreGauges(sample)
        return sample
    }

    /// Samples every `interval` until cancelled; a failed sample is logged at debug and tried again.
    public func run(every interval: Duration, on connection: PostgresConnection, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await sample(on: connection)
            } catch {
                logger.debug("gauge sample failed", metadata: ["worker.error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// One assigned partition's figures in a librdkafka statistics document.
public struct ConsumerPartitionStatistics: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// Records behind the high watermark (`consumer_lag`); nil while librdkafka does not know it.
    public var lag: Int64?
    /// The offset last committed for the group (`committed_offset`); nil while nothing is committed. It moves
    /// with every batch written, so a partition with a lag and a committed offset that stays put is stalled.
    public var committedOffset: Int64?

    public init(topic: String, partition: Int32, lag: Int64?, committedOffset: Int64?) {
        self.topic = topic
        self.partition = partition
        self.lag = lag
        self.committedOffset = committedOffset
    }
}

/// Reads a librdkafka statistics document (`statistics.interval.ms`).
public enum ConsumerStatistics {
    /// The assigned partitions with a known lag or committed offset, by topic and partition. librdkafka's internal
    /// partition -1, unknown lags (-1) and invalid offsets (negative, e.g. -1001 before the first commit) are
    /// skipped.
    public static func partitions(in json: String) -> [ConsumerPartitionStatistics] {
        guard let document = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let topics = document["topics"] as? [String: Any]
        else { return [] }
        var found: [ConsumerPartitionStatistics] = []
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (id, partition) in partitions {
                guard let number = Int32(id), number >= 0, let fields = partition as? [String: Any] else { continue }
                func nonNegative(_ field: String) -> Int64? {
                    (fields[field] as? NSNumber).map(\.int64Value).flatMap { $0 >= 0 ? $0 : nil }
                }
                let statistics = ConsumerPartitionStatistics(
                    topic: topic, partition: number, lag: nonNegative("consumer_lag"),
                    committedOffset: nonNegative("committed_offset"))
                if statistics.lag != nil || statistics.committedOffset != nil { found.append(statistics) }
            }
        }
        return found.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
