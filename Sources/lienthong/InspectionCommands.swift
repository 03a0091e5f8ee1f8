import ArgumentParser
import Foundation
import LienThongDomain
import LienThongHTTP
import LienThongKafka
import LienThongPostgres
import LienThongSettings
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

    @Option(help: "The reference-data directory (procedure levels).")
    var referenceData = "Schemas/reference-data"

    @Flag(help: "Print the dossier as JSON (the status API's body).")
    var json = false

    func run() async throws {
        let tables = try loadReferenceData(referenceData)
        let connection = try await connect(databaseURL)
        let found = try await DossierReadModel(catalogue: tables.router.catalogue).dossier(code, on: connection)
        await connection.close()
        guard let view = found else {
            print("no dossier \(code)")
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(view), as: UTF8.self))
            return
        }
        print("dossier    \(code)")
        print("status     \(view.status)  version \(view.version)  (\(view.statusName))")
        print("holder     \(view.holder ?? "-")  procedure \(view.procedure ?? "-")")
        print("due        \(view.dueAt.map(Self.format) ?? "-")")
        print("step       \(view.step)  due \(view.stepDueAt.map(Self.format) ?? "-")")
        print("resolved   \(view.resolvedAt.map(Self.format) ?? "-")  on time: \(view.onTimeClass ?? "-")")
        print("triage     \(view.triageReason ?? "-")  portal synced to version \(view.portalSyncedVersion)")
        print("timeline")
        for entry in view.history {
            print(
                "  #\(entry.sequence) v\(entry.version) \(Self.format(entry.occurredAt)) status \(entry.status) \(entry.eventType)"
            )
        }
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
        subcommands: [TriageListCommand.self, TriageAssignCommand.self])
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
        commandName: "dlq", abstract: "Inspect dead letters and replay them after a fix.",
        subcommands: [DeadLetterListCommand.self, DeadLetterShowCommand.self, DeadLetterReplayCommand.self])
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
            SELECT event_id, outbox_json(payload)->>'originalTopic', outbox_json(payload)->>'originalPartition', outbox_json(payload)->>'originalOffset',
                   outbox_json(payload)->>'errorClass', outbox_json(payload)->>'reason', created_at, published_at IS NOT NULL
            FROM outbox WHERE event_type = 'vn.gov.lienthong.dead-letter' ORDER BY batch_id DESC, ordinal DESC LIMIT \(Int64(limit))
            """)
        for row in rows {
            let (id, topic, partition, offset, errorClass, reason) = try row.decode(
                (String, String, String, String, String, String).self)
            let published = try row.decode(Bool.self, at: 7) ? "published" : "queued"
            print(
                "\(id)  \(topic)/\(partition)@\(offset)  \(errorClass)  \(reason)  \(try row.decode(Date.self, at: 6))  \(published)"
            )
        }
        print("\(rows.count) shown")
        await connection.close()
    }
}

struct TriageAssignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign",
        abstract: "Record the unit a person chose for a triaged dossier and announce it on the triage topic.",
        discussion: """
            Resolves the dossier's open triage entries with --unit, which must be one of an entry's candidate \
            communes when it names any (split pre-merger communes list their successors). The dossier's commune \
            becomes --unit, and a vn.gov.lienthong.dossier.triage-resolved record is queued for the triage topic \
            in the same transaction (the relay publishes it). Exits 1 when there is no open entry or the unit is \
            not a candidate.
            """)

    @Argument(help: "The dossier code.")
    var dossier: String

    @Option(help: "The commune or ward code chosen.")
    var unit: String

    @Option(help: "Who decided (recorded; default: $USER).")
    var by: String?

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    @Option(help: "The triage topic (default dossier.triage).")
    var triageTopic = "dossier.triage"

    func run() async throws {
        let connection = try await connect(databaseURL)
        var assignment = TriageAssignment()
        assignment.topics.triage = triageTopic
        do {
            let reasons = try await assignment.assign(
                dossier: dossier, unit: unit, by: by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator",
                on: connection)
            await connection.close()
            print("\(dossier) assigned to \(unit) (resolved: \(reasons.joined(separator: ", ")))")
        } catch let refusal as TriageAssignment.Refusal {
            await connection.close()
            print("refused: \(refusal)")
            throw ExitCode(1)
        }
    }
}

struct DeadLetterShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one dead letter: origin, error class, reason, replays, and its content with CCCDs masked.")

    @Argument(help: "The dead letter's id (dlq-<topic>-<partition>-<offset>, as `dlq list` prints).")
    var id: String

    @Option(name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG*).")
    var databaseURL: String?

    func run() async throws {
        let connection = try await connect(databaseURL)
        var selection = DeadLetterReplay.Selection()
        selection.ids = [id]
        selection.includeReplayed = true
        let letters = try await DeadLetterReplay(connection: connection).select(selection)
        await connection.close()
        guard let letter = letters.first else {
            print("no dead letter \(id)")
            throw ExitCode(1)
        }
        print("id          \(letter.id)")
        print("origin      \(letter.originalTopic)/\(letter.originalPartition)@\(letter.originalOffset)")
        print("error       \(letter.errorClass): \(letter.reason)")
        print(
            "worker      \(letter.workerID)  failed at \(letter.failedAt)  \(letter.isPublished ? "published" : "queued")"
        )
        print("replayed    \(letter.replayedAt.map { "\($0)" } ?? "never")")
        print(
            "key         \(letter.key.map { CitizenID.maskingEvery(in: String(decoding: $0, as: UTF8.self)) } ?? "-")")
        let value = letter.value.map { String(decoding: $0, as: UTF8.self) } ?? "-"
        print("value (\(letter.value?.count ?? 0) bytes, CCCDs masked)")
        print(CitizenID.maskingEvery(in: value))
    }
}

struct DeadLetterReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-publish chosen dead letters to the inbound topic after a fix, recording each replay.",
        discussion: """
            Choose by --id (repeatable) or by --error-class/--reason; dead letters replayed before are skipped \
            unless --again. Each is produced with its original key and bytes and a lienthong_replay_of header; \
            the worker evaluates it again (an event rejected before is not a duplicate). A confirmed replay is \
            recorded in dead_letter_replay with who, why and where it landed. --dry-run lists the choice only.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("id"), help: "A dead letter's id (repeatable).")
    var ids: [String] = []

    @Option(help: "Only dead letters of this error class.")
    var errorClass: String?

    @Option(help: "Only dead letters with this reason.")
    var reason: String?

    @Option(help: "At most this many, oldest first.")
    var limit = 100

    @Flag(help: "Include dead letters replayed before.")
    var again = false

    @Flag(help: "List what would be replayed, publish nothing.")
    var dryRun = false

    @Option(help: "Why (recorded with each replay).")
    var note: String?

    @Option(help: "The inbound topic (key kafka.topic; default dossier.events).")
    var topic: String?

    func validate() throws {
        guard !ids.isEmpty || errorClass != nil || reason != nil else {
            throw ValidationError("choose dead letters with --id, --error-class or --reason")
        }
    }

    func run() async throws {
        let settings = try await connection.settings(["kafka.topic": topic])
        var logger = Logger(label: "lienthong.dlq")
        logger.logLevel = .error
        let database = try await PostgresConnection.connect(configuration: settings.database, logger: logger)
        let replay = DeadLetterReplay(connection: database)
        var selection = DeadLetterReplay.Selection()
        selection.ids = ids
        selection.errorClass = errorClass
        selection.reason = reason
        selection.includeReplayed = again
        selection.limit = limit
        let letters = try await replay.select(selection)
        for letter in letters {
            print("\(letter.id)  \(letter.errorClass)  \(letter.reason)")
        }
        guard !dryRun, !letters.isEmpty else {
            print("\(letters.count) chosen\(dryRun ? " (dry run: nothing published)" : "")")
            return await database.close()
        }
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: try settings.requiredBrokers())
        producerConfiguration.properties = settings.producerProperties
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let results = try await replay.replay(
            letters, to: settings.topic, producer: producer,
            by: ProcessInfo.processInfo.environment["USER"] ?? "operator", note: note)
        await producer.close()
        await database.close()
        let failed = results.filter { (try? $0.get()) == nil }.count
        print("\(letters.count - failed) replayed to \(settings.topic), \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
