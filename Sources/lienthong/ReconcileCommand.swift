import ArgumentParser
import LienThongKafka
import LienThongPostgres
import LienThongSettings
import LienThongWorker
import Logging

/// `lienthong reconcile`: accounts for every inbound offset and every queued publication.
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Check that every inbound offset was applied, deduplicated, dead-lettered or triaged, and published.",
        discussion: """
            Reads which offsets of --topic up to its current end have an inbox row, then reads the topic (a \
            throwaway consumer group; nothing is committed), keeping only the event ids of the offsets without one, \
            and checks PostgreSQL: each offset has an inbox row or is a re-send of an event id seen elsewhere; no \
            event is twice in a dossier's history; every applied status change has its status event in the outbox \
            and every outbox row is published; no event is still held for a version gap; the group's stored \
            positions reach the end. Exits 0 when all holds, 1 otherwise, naming the first missing offsets.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The inbound topic (key kafka.topic; default dossier.events).")
    var topic: String?

    @Option(help: "The worker fleet's consumer group (key kafka.group; default lienthong-workers).")
    var group: String?

    @Option(help: "Seconds allowed for reading the topic.")
    var timeoutSeconds = 120

    func run() async throws {
        let settings = try await connection.settings(["kafka.topic": topic, "kafka.group": group])
        if connection.printConfig { return print(settings.printable()) }
        var logger = Logger(label: "lienthong.reconcile")
        logger.logLevel = .warning
        let brokers = try settings.requiredBrokers()
        let ends = try await InboundTopicScan.endOffsets(
            topic: settings.topic, bootstrapServers: brokers, properties: settings.consumerProperties, logger: logger)
        let database = try await PostgresConnection.connect(configuration: settings.database, logger: logger)
        // The inbox first, so the topic scan keeps only the event ids of offsets without an inbox row.
        let recorded = try await Reconciliation.recordedOffsets(below: ends, on: database)
        let scan = try await InboundTopicScan.read(
            topic: settings.topic, bootstrapServers: brokers, properties: settings.consumerProperties,
            timeout: .seconds(timeoutSeconds), endOffsets: ends,
            keepingEventIDsWhere: { partition, offset in !recorded.covers(partition, offset) }, logger: logger)
        let report = try await Reconciliation.run(
            consumerGroup: settings.group, recorded: recorded, eventIDsByOffset: scan.eventIDsByOffset, on: database)
        await database.close()
        print(report)
        if !report.missingOffsets.isEmpty {
            print("missing offsets: " + report.missingOffsets.joined(separator: " "))
        }
        guard report.isClean else { throw ExitCode(1) }
    }
}
