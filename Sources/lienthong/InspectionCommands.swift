import ArgumentParser
import Foundation
import LienThongPostgres
import LienThongWorker
import Logging

/// Connects to the database named by `--database-url`, `$DATABASE_URL` or libpq's `PG*` variables.
private func connect(_ url: String?) async throws -> PostgresConnection {
    var logger = Logger(label: "lienthong.cli")
    logger.logLevel = .error
    return try await PostgresConnection.connect(
        configuration: PostgresConfiguration(
            connectionString: url ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""),
        logger: logger)
}

/// `lienthong verify-audit`: recomputes the history hash chains.
struct VerifyAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-audit",
        abstract: "Recompute every dossier's history hash chain and report the first broken link.",
        discussion: """
            Each history entry's hash covers the previous hash and the entry (including the SHA-256 of the \
            original event bytes); the dossier row names the last hash. A changed, removed or reordered entry \
            breaks the chain from that entry on. Exits 0 when every chain holds, 1 otherwise.
            """)

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    @Option(help: "Verify one dossier only.")
    var dossier: String?

    func run() async throws {
        let connection = try await connect(databaseURL)
        let report = try await AuditVerification.verify(dossier: dossier, on: connection)
        await connection.close()
        print("verified \(report.dossiersChecked) dossiers, \(report.entriesChecked) history entries")
        for broken in report.broken.prefix(50) { print("BROKEN \(broken)") }
        guard report.broken.isEmpty else { throw ExitCode(1) }
    }
}

/// `lienthong status CODE`: a dossier's state and timeline.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a dossier's current state, holder, due date and history timeline.")

    @Argument(help: "The dossier code, e.g. 001.00.80.H26-250702-0001.")
    var code: String

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    func run() async throws {
        let connection = try await connect(databaseURL)
        let rows = try await connection.query(
            """
            SELECT status, version, coalesce(holder, '-'), coalesce(procedure, '-'), due_at, original_due_at,
                   resolved_at, coalesce(on_time_class, '-'), coalesce(triage_reason, '-'), portal_synced_version
            FROM dossier WHERE code = \(code)
            """)
        guard let row = rows.first else {
            await connection.close()
            print("no dossier \(code)")
            throw ExitCode(1)
        }
        print("dossier    \(code)")
        print("status     \(try row.decode(Int32.self, at: 0))  version \(try row.decode(Int64.self, at: 1))")
        print("holder     \(try row.decode(String.self, at: 2))  procedure \(try row.decode(String.self, at: 3))")
        print("due        \(try row.decode(Date?.self, at: 4).map(Self.format) ?? "-")")
        print(
            "resolved   \(try row.decode(Date?.self, at: 6).map(Self.format) ?? "-")  on time: \(try row.decode(String.self, at: 7))"
        )
        print(
            "triage     \(try row.decode(String.self, at: 8))  portal synced to version \(try row.decode(Int64.self, at: 9))"
        )
        print("timeline")
        for entry in try await connection.query(
            """
            SELECT sequence, version, event_type, status, occurred_at_ms FROM dossier_history
            WHERE dossier = \(code) ORDER BY sequence
            """)
        {
            let (sequence, version, type, status, at) = try entry.decode((Int64, Int64, String, Int32, Int64).self)
            let when = Self.format(Date(timeIntervalSince1970: Double(at) / 1000))
            print("  #\(sequence) v\(version) \(when) status \(status) \(type)")
        }
        await connection.close()
    }

    private static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 7 * 3600)
        return formatter.string(from: date)
    }
}

/// `lienthong triage list`: dossiers waiting for a person.
struct TriageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage", abstract: "Dossiers waiting for a person to choose the unit.",
        subcommands: [TriageListCommand.self])
}

struct TriageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List open triage entries: dossier, reason, candidate communes, since when.")

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    @Option(help: "At most this many entries.")
    var limit = 100

    func run() async throws {
        let connection = try await connect(databaseURL)
        let rows = try await connection.query(
            """
            SELECT dossier, reason, array_to_string(candidates, ' '), created_at FROM triage
            WHERE resolved_at IS NULL ORDER BY created_at, id LIMIT \(Int64(limit))
            """)
        for row in rows {
            let (dossier, reason, candidates, created) = try row.decode((String, String, String, Date).self)
            print("\(dossier)  \(reason)  [\(candidates)]  since \(created)")
        }
        print("\(rows.count) open")
        await connection.close()
    }
}

/// `lienthong dlq list`: dead letters queued or published.
struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect dead letters.", subcommands: [DeadLetterListCommand.self])
}

struct DeadLetterListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List dead letters: where each came from, its error class and reason (never its content).")

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    @Option(help: "At most this many, newest first.")
    var limit = 100

    func run() async throws {
        let connection = try await connect(databaseURL)
        let rows = try await connection.query(
            """
            SELECT payload->>'originalTopic', payload->>'originalPartition', payload->>'originalOffset',
                   payload->>'errorClass', payload->>'reason', created_at, published_at IS NOT NULL
            FROM outbox WHERE event_type = 'vn.gov.lienthong.dead-letter' ORDER BY id DESC LIMIT \(Int64(limit))
            """)
        for row in rows {
            let (topic, partition, offset, errorClass, reason) = try row.decode(
                (String, String, String, String, String).self)
            let published = try row.decode(Bool.self, at: 6) ? "published" : "queued"
            print(
                "\(topic)/\(partition)@\(offset)  \(errorClass)  \(reason)  \(try row.decode(Date.self, at: 5))  \(published)"
            )
        }
        print("\(rows.count) shown")
        await connection.close()
    }
}
