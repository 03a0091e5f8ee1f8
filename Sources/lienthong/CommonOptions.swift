import ArgumentParser
import LienThongKafka
import LienThongPostgres
import LienThongWorker

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
        guard let brokers = brokers ?? ProcessInfo.processInfo.environment["LIENTHONG_KAFKA_BROKERS"], !brokers.isEmpty
        else { throw ValidationError("missing Kafka brokers: pass --brokers or set LIENTHONG_KAFKA_BROKERS") }
        return brokers
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
