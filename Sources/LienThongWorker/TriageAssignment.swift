import Foundation
public import LienThongPostgres

/// A person's decision on a triaged dossier: the unit it belongs to. Recorded on the triage entry and the
/// dossier, and announced on the triage topic (`vn.gov.lienthong.dossier.triage-resolved`), in one transaction.
public struct TriageAssignment: Sendable {
    /// Why an assignment was refused.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        /// No open triage entry for the dossier.
        case noOpenEntry(dossier: String)
        /// The unit is not one of the entry's candidates.
        case notACandidate(unit: String, candidates: [String])

        public var description: String {
            switch self {
            case .noOpenEntry(let dossier): "no open triage entry for \(dossier)"
            case .notACandidate(let unit, let candidates):
                "\(unit) is not a candidate (\(candidates.joined(separator: ", ")))"
            }
        }
    }

    /// The triage topic the resolution is published to.
    public var topics = OutboundTopics()

    public init() {}

    /// Resolves the dossier's open triage entries with `unit` (which must be a candidate when the entry names any).
    /// - Returns: the reasons of the entries resolved.
    public func assign(
        dossier: String, unit: String, by operatorName: String, on connection: PostgresConnection
    ) async throws -> [String] {
        let topics = topics
        return try await connection.withTransaction { session in
            let entries = try session.query(
                """
                SELECT id, reason, candidates FROM triage WHERE dossier = \(dossier) AND resolved_at IS NULL
                FOR UPDATE
                """
            ).map { try $0.decode((Int64, String, [String]).self) }
            guard !entries.isEmpty else { throw Refusal.noOpenEntry(dossier: dossier) }
            for entry in entries where !entry.2.isEmpty && !entry.2.contains(unit) {
                throw Refusal.notACandidate(unit: unit, candidates: entry.2)
            }
            try session.query(
                """
                UPDATE triage SET resolved_at = now(), resolution = 'assigned', assigned_unit = \(unit),
                                  resolved_by = \(operatorName)
                WHERE id = ANY(\(entries.map(\.0)))
                """)
            try session.query("UPDATE dossier SET commune = \(unit) WHERE code = \(dossier)")
            var outbox = OutboxRows()
            for entry in entries {
                var json = JSONWriter()
                json.field("dossier", dossier)
                json.field("reason", entry.1)
                json.field("assignedUnit", unit)
                json.field("assignedBy", operatorName)
                json.field("resolvedAt", timestamp: Date())
                outbox.append(
                    OutboxRecord(
                        topic: topics.triage, key: dossier, eventID: "triage-resolved-\(entry.0)",
                        type: "vn.gov.lienthong.dossier.triage-resolved", payload: json.finish(), dossier: dossier,
                        correlationID: nil))
            }
            try outbox.insert(in: session)
            return entries.map(\.1)
        }
    }
}
