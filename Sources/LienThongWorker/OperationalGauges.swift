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

/// Consumer lag per partition from a librdkafka statistics document (`statistics.interval.ms`).
public enum ConsumerStatistics {
    /// `(topic, partition, lag)` for every assigned partition with a known lag; librdkafka's internal partition
    /// -1 and unknown lags (-1) are skipped.
    public static func lags(in json: String) -> [(topic: String, partition: Int32, lag: Int64)] {
        guard let document = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let topics = document["topics"] as? [String: Any]
        else { return [] }
        var lags: [(topic: String, partition: Int32, lag: Int64)] = []
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (id, partition) in partitions {
                guard let number = Int32(id), number >= 0, let fields = partition as? [String: Any],
                    let lag = (fields["consumer_lag"] as? NSNumber)?.int64Value, lag >= 0
                else { continue }
                lags.append((topic, number, lag))
            }
        }
        return lags.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
