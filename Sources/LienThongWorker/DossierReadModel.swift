public import Foundation
public import LienThongDomain
public import LienThongPostgres

/// A dossier as the status API and `lienthong status` show it.
public struct DossierView: Sendable, Hashable, Codable {
    /// One history entry.
    public struct Entry: Sendable, Hashable, Codable {
        public var sequence: Int64
        public var version: Int64
        public var eventType: String
        public var status: Int
        public var occurredAt: Date
    }

    public var code: String
    public var status: Int
    public var statusName: String
    public var version: Int64
    public var holder: String?
    public var procedure: String?
    /// The current step of the processing chain, from 0.
    public var step: Int
    /// When the current step is due (liên thông chains only).
    public var stepDueAt: Date?
    public var dueAt: Date?
    public var originalDueAt: Date?
    public var resolvedAt: Date?
    public var onTimeClass: String?
    public var triageReason: String?
    public var portalSyncedVersion: Int64
    public var history: [Entry]
}

/// On-time rates of one competence level in one period.
public struct OnTimeRate: Sendable, Hashable, Codable {
    public var level: String
    /// The period's first day (Vietnam time), `yyyy-MM-dd`.
    public var periodStart: String
    public var resolved: Int
    public var onTime: Int
    public var late: Int
    /// `onTime / resolved`, 0…1.
    public var onTimeRate: Double
}

/// Read-only queries behind `GET /v1/dossiers/{code}`, `GET /v1/stats` and `lienthong status`.
public struct DossierReadModel: Sendable {
    /// The period `GET /v1/stats` groups by.
    public enum Period: String, Sendable, CaseIterable {
        case day, week, month
    }

    private let catalogue: ProcedureCatalogue

    /// Creates the read model; `catalogue` maps procedures to competence levels.
    public init(catalogue: ProcedureCatalogue) {
        self.catalogue = catalogue
    }

    /// The dossier with its history timeline, or nil when there is none.
    public func dossier(_ code: String, on connection: PostgresConnection) async throws -> DossierView? {
        guard
            let row = try await connection.query(
                """
                SELECT status, version, holder, procedure, due_at, original_due_at, resolved_at, on_time_class,
                       triage_reason, portal_synced_version, step, step_due_at
                FROM dossier WHERE code = \(code)
                """
            ).first
        else { return nil }
        let status = Int(try row.decode(Int32.self, at: 0))
        let history = try await connection.query(
            """
            SELECT sequence, version, event_type, status, occurred_at_ms FROM dossier_history
            WHERE dossier = \(code) ORDER BY sequence
            """
        ).map { entry in
            let (sequence, version, type, status, at) = try entry.decode((Int64, Int64, String, Int32, Int64).self)
            return DossierView.Entry(
                sequence: sequence, version: version, eventType: type, status: Int(status),
                occurredAt: Date(timeIntervalSince1970: Double(at) / 1000))
        }
        return DossierView(
            code: code, status: status, statusName: DossierStatus(rawValue: status)?.name ?? "unknown",
            version: try row.decode(Int64.self, at: 1), holder: try row.decode(String?.self, at: 2),
            procedure: try row.decode(String?.self, at: 3), step: Int(try row.decode(Int32.self, at: 10)),
            stepDueAt: try row.decode(Date?.self, at: 11), dueAt: try row.decode(Date?.self, at: 4),
            originalDueAt: try row.decode(Date?.self, at: 5), resolvedAt: try row.decode(Date?.self, at: 6),
            onTimeClass: try row.decode(String?.self, at: 7), triageReason: try row.decode(String?.self, at: 8),
            portalSyncedVersion: try row.decode(Int64.self, at: 9), history: history)
    }

    /// On-time rates of resolved dossiers by competence level and period, between `from` and `to`.
    public func onTimeRates(
        period: Period, from: Date, to: Date, on connection: PostgresConnection
    ) async throws -> [OnTimeRate] {
        var rates: [String: OnTimeRate] = [:]
        for row in try await connection.query(
            """
            SELECT procedure,
                   to_char(date_trunc(\(period.rawValue), resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh'), 'YYYY-MM-DD'),
                   count(*), count(*) FILTER (WHERE on_time_class IN ('early', 'on_time'))
            FROM dossier
            WHERE on_time_class IS NOT NULL AND resolved_at >= \(from) AND resolved_at < \(to)
            GROUP BY 1, 2
            """)
        {
            let (procedure, start, resolved, onTime) = try row.decode((String?, String, Int, Int).self)
            let level =
                procedure.flatMap { try? ProcedureCode($0) }.flatMap { catalogue.procedure($0)?.level }?.rawValue
                ?? "unknown"
            var rate =
                rates[level + start]
                ?? OnTimeRate(level: level, periodStart: start, resolved: 0, onTime: 0, late: 0, onTimeRate: 0)
            rate.resolved += resolved
            rate.onTime += onTime
            rate.late = rate.resolved - rate.onTime
            rate.onTimeRate = Double(rate.onTime) / Double(rate.resolved)
            rates[level + start] = rate
        }
        return rates.values.sorted { ($0.periodStart, $0.level) < ($1.periodStart, $1.level) }
    }
}
