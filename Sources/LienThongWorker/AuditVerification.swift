import LienThongDomain
public import LienThongPostgres

/// Recomputes the history hash chains from the stored rows: every dossier's entries must chain from the genesis
/// hash, and its last entry must be the one the dossier row names (so a removed tail is found too).
public enum AuditVerification {
    /// A dossier whose chain does not hold, and the first entry that breaks it.
    public struct BrokenChain: Sendable, Hashable, CustomStringConvertible {
        public let dossier: String
        /// The sequence of the first entry that does not verify (one past the last entry for a removed tail).
        public let firstBrokenSequence: Int64

        public init(dossier: String, firstBrokenSequence: Int64) {
            self.dossier = dossier
            self.firstBrokenSequence = firstBrokenSequence
        }

        public var description: String { "\(dossier): broken at entry \(firstBrokenSequence)" }
    }

    /// The outcome of a verification.
    public struct Report: Sendable, Hashable {
        public var dossiersChecked = 0
        public var entriesChecked = 0
        public var broken: [BrokenChain] = []
    }

    /// Verifies one dossier, or all of them in pages of `pageSize` dossiers.
    public static func verify(
        dossier: String? = nil, pageSize: Int = 500, on connection: PostgresConnection
    ) async throws -> Report {
        var report = Report()
        var after = ""
        while true {
            let codes: [String]
            if let dossier {
                codes = [dossier]
            } else {
                codes = try await connection.query(
                    "SELECT code FROM dossier WHERE code > \(after) ORDER BY code LIMIT \(Int64(pageSize))"
                ).map { try $0.decode(String.self, at: 0) }
            }
            guard !codes.isEmpty else { break }
            try await verifyPage(codes, into: &report, on: connection)
            guard dossier == nil, let last = codes.last else { break }
            after = last
        }
        return report
    }

    private static func verifyPage(
        _ codes: [String], into report: inout Report, on connection: PostgresConnection
    )
        async throws
    {
        var heads: [String: (sequence: Int64, hash: [UInt8])] = [:]
        for row in try await connection.query(
            "SELECT code, history_sequence, last_hash FROM dossier WHERE code = ANY(\(codes))")
        {
            heads[try row.decode(String.self, at: 0)] = (
                try row.decode(Int64.self, at: 1), try row.decode(PostgresBytes.self, at: 2).bytes
            )
        }
        var chains: [String: [(record: AuditRecord, storedHash: [UInt8])]] = [:]
        for row in try await connection.query(
            """
            SELECT dossier, sequence, version, event_id, event_type, status, occurred_at_ms, payload_sha256, hash
            FROM dossier_history WHERE dossier = ANY(\(codes)) ORDER BY dossier, sequence
            """)
        {
            let record = AuditRecord(
                dossier: try row.decode(String.self, at: 0), sequence: try row.decode(Int64.self, at: 1),
                version: try row.decode(Int64.self, at: 2), eventID: try row.decode(String.self, at: 3),
                eventType: try row.decode(String.self, at: 4), status: Int(try row.decode(Int32.self, at: 5)),
                occurredAtMilliseconds: try row.decode(Int64.self, at: 6),
                payloadDigest: try row.decode(PostgresBytes.self, at: 7).bytes)
            chains[record.dossier, default: []].append((record, try row.decode(PostgresBytes.self, at: 8).bytes))
        }
        for code in codes {
            let entries = chains[code] ?? []
            report.dossiersChecked += 1
            report.entriesChecked += entries.count
            if let broken = AuditChain.firstBrokenLink(entries) {
                report.broken.append(BrokenChain(dossier: code, firstBrokenSequence: broken))
            } else if let head = heads[code],
                head.sequence != Int64(entries.count) || entries.last?.storedHash != head.hash
            {
                report.broken.append(BrokenChain(dossier: code, firstBrokenSequence: Int64(entries.count) + 1))
            }
        }
    }
}
