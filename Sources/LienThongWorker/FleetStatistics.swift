public import Foundation
public import LienThongDomain
public import LienThongPostgres

/// What the store says about the fleet's work: for the live progress line and the end-of-run summary.
public enum FleetStatistics {
    /// Counters for the progress line.
    public struct Progress: Sendable, Hashable {
        /// Inbound events recorded (applied, duplicates, held, dead-lettered, triaged).
        public var eventsRecorded = 0
        /// Events dead-lettered or refused.
        public var deadLettered = 0
        /// Dossiers waiting in triage.
        public var triageOpen = 0
        /// Dossiers not yet closed.
        public var inFlight = 0
        /// Dossiers resolved with an on-time class, and of those early or on time.
        public var resolved = 0
        public var resolvedOnTime = 0
        /// Outbox rows not yet published.
        public var outboxBacklog = 0
        /// The next offsets the group has stored, summed over partitions.
        public var storedPositions: Int64 = 0

        /// The on-time share of resolved dossiers, in percent (100 when none is resolved yet).
        public var onTimePercent: Double { resolved == 0 ? 100 : Double(resolvedOnTime) * 100 / Double(resolved) }
    }

    /// Reads the progress counters.
    public static func progress(consumerGroup: String, on connection: PostgresConnection) async throws -> Progress {
        let row = try await connection.query(
            """
            SELECT (SELECT count(*) FROM inbox),
                   (SELECT count(*) FROM inbox WHERE outcome IN ('dead_lettered', 'rejected')),
                   (SELECT count(*) FROM triage WHERE resolved_at IS NULL),
                   (SELECT count(*) FROM dossier WHERE status NOT IN (3, 7, 8, 10)),
                   (SELECT count(*) FROM dossier WHERE on_time_class IS NOT NULL),
                   (SELECT count(*) FROM dossier WHERE on_time_class IN ('early', 'on_time')),
                   (SELECT records FROM outbox_backlog),
                   (SELECT coalesce(sum(next_offset), 0)::int8 FROM consumer_position WHERE consumer_group = \(consumerGroup))
            """)[0]
        return Progress(
            eventsRecorded: try row.decode(Int.self, at: 0), deadLettered: try row.decode(Int.self, at: 1),
            triageOpen: try row.decode(Int.self, at: 2), inFlight: try row.decode(Int.self, at: 3),
            resolved: try row.decode(Int.self, at: 4), resolvedOnTime: try row.decode(Int.self, at: 5),
            outboxBacklog: try row.decode(Int.self, at: 6), storedPositions: try row.decode(Int64.self, at: 7))
    }

    /// One line of the summary: the dossiers of one competence level.
    public struct LevelSummary: Sendable, Hashable {
        public var level: CompetentLevel
        public var received = 0
        public var resolved = 0
        public var onTime = 0
        public var overdue = 0
        /// Milliseconds from an event's consume (the transaction's start for rows written before consume times were
        /// stored) to its status event's confirmed publication.
        public var latencyP50 = 0.0
        public var latencyP99 = 0.0

        /// The on-time share of resolved dossiers, in percent.
        public var onTimePercent: Double { resolved == 0 ? 100 : Double(onTime) * 100 / Double(resolved) }
    }

    /// Summarises the run by competence level; `now` decides what is overdue (the simulation's clock).
    public static func summary(
        catalogue: ProcedureCatalogue, statusTopic: String, at now: Date, on connection: PostgresConnection
    ) async throws -> [LevelSummary] {
        func level(_ procedure: String?) -> CompetentLevel? {
            procedure.flatMap { try? ProcedureCode($0) }.flatMap { catalogue.procedure($0)?.level }
        }
        var levels = Dictionary(uniqueKeysWithValues: CompetentLevel.allCases.map { ($0, LevelSummary(level: $0)) })
        for row in try await connection.query(
            """
            SELECT procedure, count(*) FILTER (WHERE clock_started_at IS NOT NULL),
                   count(*) FILTER (WHERE on_time_class IS NOT NULL),
                   count(*) FILTER (WHERE on_time_class IN ('early', 'on_time')),
                   count(*) FILTER (WHERE resolved_at IS NULL AND paused_at IS NULL AND due_at < \(now))
            FROM dossier GROUP BY procedure
            """)
        {
            guard let key = level(try row.decode(String?.self, at: 0)) else { continue }
            levels[key]!.received += try row.decode(Int.self, at: 1)
            levels[key]!.resolved += try row.decode(Int.self, at: 2)
            levels[key]!.onTime += try row.decode(Int.self, at: 3)
            levels[key]!.overdue += try row.decode(Int.self, at: 4)
        }
        var latencies: [CompetentLevel: [Double]] = [:]
        for row in try await connection.query(
            """
            SELECT d.procedure, (extract(epoch FROM o.published_at - coalesce(i.consumed_at, i.received_at)) * 1000)::float8
            FROM outbox o JOIN dossier_history h ON o.event_id = 'status-' || h.dossier || '-' || h.version
            JOIN inbox i ON i.event_id = h.event_id JOIN dossier d ON d.code = h.dossier
            WHERE o.topic = \(statusTopic) AND o.published_at IS NOT NULL
            """)
        {
            guard let key = level(try row.decode(String?.self, at: 0)) else { continue }
            latencies[key, default: []].append(try row.decode(Double.self, at: 1))
        }
        for (key, values) in latencies where !values.isEmpty {
            let sorted = values.sorted()
            levels[key]!.latencyP50 = sorted[sorted.count / 2]
            levels[key]!.latencyP99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        }
        return CompetentLevel.allCases.map { levels[$0]! }
    }
}
