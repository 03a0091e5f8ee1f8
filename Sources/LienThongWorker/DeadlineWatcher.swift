public import Foundation
public import LienThongDomain
public import LienThongPostgres
public import Logging

/// Watches the fleet's deadlines and held events, once per interval, from any worker.
///
/// - SLA warnings (due within one working day, overdue, a liên thông step past its step deadline, online dossier
///   not received within eight working hours) are emitted exactly once each: the `sla_warning` table's key
///   (dossier, warning, due date) admits a warning once, and its status event is queued in the outbox in the same
///   transaction. A new due date (a reset or a new step) may warn again.
/// - Events held for a version gap longer than ``gapHoldTime`` go to triage with the reason `version_gap`.
///
/// Each scan runs under a transaction advisory lock, so two workers never scan at once (the key would keep the
/// warnings single anyway; the lock keeps the work single too).
public struct DeadlineWatcher: Sendable {
    /// The calendar deadlines are counted in.
    public let calendar: WorkingCalendar
    /// Where warnings and triage records go.
    public var topics = OutboundTopics()
    /// Names this worker in triage records. Default: `lienthong-worker`.
    public var workerID = "lienthong-worker"
    /// Where emitted warnings are counted. Default: ``WorkerMetrics/shared``.
    public var metrics = WorkerMetrics.shared
    /// How long an event may wait for the versions before it. Default: 10 minutes.
    public var gapHoldTime: Duration = .seconds(600)
    /// The advisory-lock key of a scan.
    static let lockKey: Int64 = 0x4C54_5341

    public init(calendar: WorkingCalendar) {
        self.calendar = calendar
    }

    /// What one scan did.
    public struct ScanResult: Sendable, Hashable {
        /// Warnings emitted, by kind.
        public var warnings: [SLAWarning: Int] = [:]
        /// Held events moved to triage.
        public var triagedGaps = 0
        /// False when another worker held the scan lock.
        public var ran = true
    }

    /// Scans once at `now` (the simulation passes its own clock).
    public func scan(at now: Date, on connection: PostgresConnection) async throws -> ScanResult {
        let watcher = self
        let result = try await connection.withTransaction { session in
            try watcher.scan(at: now, in: session)
        }
        if result.ran { metrics.recordWarnings(result.warnings) }
        return result
    }

    /// Scans every `interval` until cancelled; failures are logged and the next scan tries again.
    public func run(
        every interval: Duration, on connection: PostgresConnection, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async {
        while !Task.isCancelled {
            do {
                let result = try await scan(at: now(), on: connection)
                if !result.warnings.isEmpty || result.triagedGaps > 0 {
                    logger.info(
                        "deadline scan",
                        metadata: [
                            "sla.warnings": "\(result.warnings.values.reduce(0, +))",
                            "triage.version_gaps": "\(result.triagedGaps)",
                        ])
                }
            } catch {
                logger.warning("deadline scan failed", metadata: ["worker.error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func scan(at now: Date, in session: PostgresSession) throws -> ScanResult {
        guard try session.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))")[0].decode(Bool.self, at: 0) else {
            return ScanResult(ran: false)
        }
        let records = OutboundRecords(topics: topics, workerID: workerID)
        var result = ScanResult()
        var outbox = OutboxRows()
        var candidates: [(code: String, version: Int64, status: DossierStatus, warning: SLAWarning, due: Date)] = []

        // Running clocks due within the horizon (a working day can span a long holiday) and not yet warned overdue.
        let horizon = now.addingTimeInterval(20 * 86_400)
        for row in try session.query(
            """
            SELECT d.code, d.version, d.status, d.due_at FROM dossier d
            WHERE d.due_at IS NOT NULL AND d.resolved_at IS NULL AND d.paused_at IS NULL AND d.due_at < \(horizon)
              AND NOT EXISTS (SELECT 1 FROM sla_warning w
                              WHERE w.dossier = d.code AND w.warning = 'overdue' AND w.due_at = d.due_at)
            """, prepared: true)
        {
            let (code, version, status, due) = try row.decode((String, Int64, Int32, Date).self)
            guard let status = DossierStatus(rawValue: Int(status)) else { continue }
            for warning in SLAClock.warnings(dueAt: due, at: now, calendar: calendar) {
                candidates.append((code, version, status, warning, due))
            }
        }
        // Steps of liên thông chains past their step deadline, not yet warned for that deadline.
        for row in try session.query(
            """
            SELECT d.code, d.version, d.status, d.step_due_at FROM dossier d
            WHERE d.step_due_at < \(now) AND d.resolved_at IS NULL AND d.paused_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM sla_warning w
                              WHERE w.dossier = d.code AND w.warning = 'step_overdue' AND w.due_at = d.step_due_at)
            """, prepared: true)
        {
            let (code, version, status, due) = try row.decode((String, Int64, Int32, Date).self)
            guard let status = DossierStatus(rawValue: Int(status)) else { continue }
            candidates.append((code, version, status, .stepOverdue, due))
        }
        // Online submissions still waiting for receipt (eight working hours are at least eight hours).
        for row in try session.query(
            """
            SELECT code, version, submitted_at FROM dossier
            WHERE status = 1 AND clock_started_at IS NULL AND resolved_at IS NULL
              AND submitted_at < \(now.addingTimeInterval(-8 * 3600))
            """, prepared: true)
        {
            let (code, version, submitted) = try row.decode((String, Int64, Date).self)
            if SLAClock.isOnlineReceiptLate(submittedAt: submitted, now: now, calendar: calendar) {
                candidates.append((code, version, .submittedOnline, .onlineNotReceived, submitted))
            }
        }
        if !candidates.isEmpty {
            let inserted = try session.query(
                """
                INSERT INTO sla_warning (dossier, warning, due_at)
                SELECT * FROM unnest(\(candidates.map(\.code))::text[], \(candidates.map(\.warning.rawValue))::text[],
                                     \(candidates.map(\.due))::timestamptz[])
                ON CONFLICT DO NOTHING RETURNING dossier, warning, due_at
                """, prepared: true)
            var fresh = Set<String>()
            for row in inserted {
                let (code, warning, due) = try row.decode((String, String, Date).self)
                fresh.insert("\(code)|\(warning)|\(due.timeIntervalSince1970)")
            }
            for candidate in candidates
            where fresh.contains(
                "\(candidate.code)|\(candidate.warning.rawValue)|\(candidate.due.timeIntervalSince1970)")
            {
                outbox.append(
                    records.slaWarning(
                        code: candidate.code, version: candidate.version, status: candidate.status,
                        warning: candidate.warning, dueAt: candidate.due, at: now))
                result.warnings[candidate.warning, default: 0] += 1
            }
        }
        result.triagedGaps = try triageExpiredHolds(at: now, records: records, outbox: &outbox, in: session)
        try outbox.insert(in: session)
        return result
    }

    /// Moves events held longer than the hold time (wall-clock time on the database server, whatever clock the
    /// deadlines use) to triage; rows a worker is releasing are skipped.
    private func triageExpiredHolds(
        at now: Date, records: OutboundRecords, outbox: inout OutboxRows, in session: PostgresSession
    ) throws -> Int {
        let holdSeconds = gapHoldTime.components.seconds
        let expired = try session.query(
            """
            DELETE FROM held_event WHERE event_id IN (
                SELECT event_id FROM held_event WHERE held_at < now() - make_interval(secs => \(holdSeconds)::float8)
                ORDER BY held_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
            RETURNING event_id, dossier
            """, prepared: true
        ).map { try $0.decode((String, String).self) }
        guard !expired.isEmpty else { return 0 }
        var triage = TriageRows()
        for (eventID, dossier) in expired {
            triage.append(dossier: dossier, eventID: eventID, reason: "version_gap", candidates: [])
            outbox.append(
                records.triage(code: dossier, eventID: eventID, reason: "version_gap", candidates: [], at: now))
        }
        try triage.insert(in: session)
        try session.query(
            "UPDATE inbox SET outcome = 'triaged', reason = 'version_gap' WHERE event_id = ANY(\(expired.map { $0.0 }))",
            prepared: true)
        return expired.count
    }
}
