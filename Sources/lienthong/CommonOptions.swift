import ArgumentParser
import LienThongKafka
import LienThongPostgres
import LienThongSettings
import LienThongSimulation
import LienThongWorker
import Logging
import Synchronization

import struct Foundation.Date
import class Foundation.ProcessInfo

/// Where the brokers and the database are, and the configuration file: shared by every command that talks to both.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "A YAML configuration file (default: $LIENTHONG_CONFIG; example: Deploy/lienthong.example.yaml).")
    var config: String?

    @Option(help: "Kafka bootstrap servers, host:port[,…] (key kafka.brokers; $LIENTHONG_KAFKA_BROKERS).")
    var brokers: String?

    @Option(
        name: .long,
        help:
            "A libpq conninfo string or postgresql:// URI (key database.url; $LIENTHONG_DATABASE_URL, $DATABASE_URL, PG*)."
    )
    var databaseURL: String?

    @Option(
        name: .customLong("kafka-property"),
        help: "A librdkafka property, name=value (repeatable; also LIENTHONG_KAFKA_<PROPERTY>).")
    var kafkaProperties: [String] = []

    @Flag(help: "Print the resolved configuration (secrets redacted) and exit.")
    var printConfig = false

    /// Resolves the settings: these flags and `flags` over the environment, the file and the defaults.
    func settings(_ flags: [String: String?] = [:]) async throws -> ResolvedSettings {
        var given = flags.compactMapValues { $0 }
        if let brokers { given["kafka.brokers"] = brokers }
        if let databaseURL { given["database.url"] = databaseURL }
        return try await SettingsSources(flags: given, flagKafkaProperties: kafkaProperties, configurationFile: config)
            .resolve()
    }
}

extension ResolvedSettings {
    /// The PostgreSQL configuration.
    var database: PostgresConfiguration {
        PostgresConfiguration(connectionString: databaseURL)
    }

    /// The passthrough properties a producer accepts (consumer-group settings removed).
    var producerProperties: [String: String] {
        kafkaProperties.filter {
            !$0.key.hasPrefix("group.")
                && !["session.timeout.ms", "heartbeat.interval.ms", "bootstrap.servers"]
                    .contains($0.key)
        }
    }

    /// The consumer's passthrough properties.
    var consumerProperties: [String: String] {
        kafkaProperties.filter { $0.key != "bootstrap.servers" }
    }

    /// The outbound topic names.
    var topics: OutboundTopics {
        var topics = OutboundTopics()
        topics.status = values["topics.status"]!
        topics.deadLetter = values["topics.dead_letter"]!
        topics.triage = values["topics.triage"]!
        topics.portalSync = values["topics.portal_sync"]!
        let prefix = values["topics.work_prefix"]!
        topics.communeWork = prefix + ".commune"
        topics.departmentWork = prefix + ".department"
        topics.ministryWork = prefix + ".ministry"
        return topics
    }
}

/// The outbound topic names (unset flags fall back to the configuration, then the defaults).
struct TopicOptions: ParsableArguments {
    @Option(help: "The topic status events and SLA warnings go to (key topics.status; default dossier.status).")
    var statusTopic: String?

    @Option(help: "The dead-letter topic (key topics.dead_letter; default dossier.events.dlq).")
    var deadLetterTopic: String?

    @Option(help: "The topic of dossiers a person must route (key topics.triage; default dossier.triage).")
    var triageTopic: String?

    @Option(help: "The national portal connector's topic (key topics.portal_sync; default portal.sync).")
    var portalSyncTopic: String?

    @Option(help: "The work-item topics' prefix: <prefix>.commune|department|ministry (default dossier.work).")
    var workTopicPrefix: String?

    /// The flags given, by configuration key.
    var flags: [String: String?] {
        [
            "topics.status": statusTopic, "topics.dead_letter": deadLetterTopic, "topics.triage": triageTopic,
            "topics.portal_sync": portalSyncTopic, "topics.work_prefix": workTopicPrefix,
        ]
    }
}

/// The bootstrap servers from a `--brokers` flag or `$LIENTHONG_KAFKA_BROKERS`.
func resolveBrokers(_ flag: String?) throws -> String {
    guard let brokers = flag ?? ProcessInfo.processInfo.environment["LIENTHONG_KAFKA_BROKERS"], !brokers.isEmpty
    else { throw ValidationError("missing Kafka brokers: pass --brokers or set LIENTHONG_KAFKA_BROKERS") }
    return brokers
}

/// Loads the reference data, failing with the option's name and the file at fault.
func loadReferenceData(_ directory: String) throws -> ReferenceData {
    do {
        return try ReferenceData.load(directory: directory)
    } catch {
        throw ValidationError("--reference-data: \(error)")
    }
}

/// Waits until SIGINT/SIGTERM or `durationSeconds` (0: no limit), calling `tick` every second.
func runUntilStopped(durationSeconds: Int, tick: (Int) async -> Void) async {
    let interrupted = Mutex(false)
    let signals = Task {
        await waitForTerminationSignal()
        interrupted.withLock { $0 = true }
    }
    let deadline = durationSeconds > 0 ? ContinuousClock.now + .seconds(durationSeconds) : nil
    var seconds = 0
    while !interrupted.withLock({ $0 }), deadline.map({ ContinuousClock.now < $0 }) ?? true {
        try? await Task.sleep(for: .seconds(1))
        seconds += 1
        await tick(seconds)
    }
    signals.cancel()
}

/// How the simulated Hanoi behaves: shared by `dev` and `simulate`.
struct SimulationOptions: ParsableArguments {
    @Option(help: "Real seconds to run (0: until Ctrl-C or SIGTERM).")
    var durationSeconds = 90

    @Option(help: "Simulated seconds per real second.")
    var speed = 1200.0

    @Option(help: "New dossiers per working hour across Hanoi (simulated).")
    var dossiersPerHour = 250.0

    @Option(help: "The simulation's random seed (the same seed replays the same traffic).")
    var seed: UInt64 = 2025

    func validate() throws {
        guard speed > 0 else { throw ValidationError("--speed must be positive") }
        guard dossiersPerHour > 0 else { throw ValidationError("--dossiers-per-hour must be positive") }
    }

    /// A driver sending the simulated traffic from the next Monday 07:00 to `brokers`.
    func driver(
        tables: ReferenceData, brokers: String, inboundTopic: String = "dossier.events",
        portalSyncTopic: String = "portal.sync", logger: Logger
    ) throws -> SimulationDriver {
        let start = DevCommand.mondayMorning(after: Date(), calendar: tables.calendar)
        var profile = TrafficProfile()
        profile.dossiersPerWorkingHour = dossiersPerHour
        return try SimulationDriver(
            traffic: UpstreamTraffic(
                referenceData: tables.router, calendar: tables.calendar, profile: profile, seed: seed, start: start),
            simulatedStart: start, speed: speed, bootstrapServers: brokers, inboundTopic: inboundTopic,
            portalSyncTopic: portalSyncTopic, logger: logger)
    }
}
