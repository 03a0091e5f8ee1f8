import ArgumentParser
import LienThongKafka
import LienThongPostgres
import LienThongSimulation
import LienThongWorker
import Logging
import Synchronization

import struct Foundation.Date
import class Foundation.ProcessInfo

/// Where the brokers and the database are: shared by every command that talks to both.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, host:port[,…] (default: $LIENTHONG_KAFKA_BROKERS).")
    var brokers: String?

    @Option(
        name: .long, help: "A libpq conninfo string or postgresql:// URI (default: $DATABASE_URL, then PG* variables).")
    var databaseURL: String?

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property, name=value (repeatable).")
    var kafkaProperties: [String] = []

    /// The bootstrap servers, from the flag or the environment.
    func bootstrapServers() throws -> String {
        try resolveBrokers(brokers)
    }

    /// The librdkafka passthrough properties.
    func properties() throws -> [String: String] {
        var properties: [String: String] = [:]
        for property in kafkaProperties {
            let parts = property.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ValidationError("--kafka-property expects name=value, got \(property)")
            }
            properties[String(parts[0])] = String(parts[1])
        }
        return properties
    }

    /// The passthrough properties a producer accepts (consumer-group settings removed).
    func producerProperties() throws -> [String: String] {
        try properties().filter {
            !$0.key.hasPrefix("group.") && !["session.timeout.ms", "heartbeat.interval.ms"].contains($0.key)
        }
    }

    var database: PostgresConfiguration {
        PostgresConfiguration(
            connectionString: databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] ?? "")
    }
}

/// The outbound topic names.
struct TopicOptions: ParsableArguments {
    @Option(help: "The topic status events and SLA warnings go to.")
    var statusTopic = "dossier.status"

    @Option(help: "The dead-letter topic.")
    var deadLetterTopic = "dossier.events.dlq"

    @Option(help: "The topic of dossiers a person must route.")
    var triageTopic = "dossier.triage"

    @Option(help: "The national portal connector's topic.")
    var portalSyncTopic = "portal.sync"

    @Option(help: "The prefix of the work-item topics (<prefix>.commune, .department, .ministry).")
    var workTopicPrefix = "dossier.work"

    var topics: OutboundTopics {
        var topics = OutboundTopics()
        topics.status = statusTopic
        topics.deadLetter = deadLetterTopic
        topics.triage = triageTopic
        topics.portalSync = portalSyncTopic
        topics.communeWork = workTopicPrefix + ".commune"
        topics.departmentWork = workTopicPrefix + ".department"
        topics.ministryWork = workTopicPrefix + ".ministry"
        return topics
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
