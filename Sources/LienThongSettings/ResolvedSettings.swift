import Foundation

/// Every setting after precedence was applied, parsed and checked: what a process runs with.
public struct ResolvedSettings: Sendable {
    /// The resolved text of each key that has a value (defaults included), by dotted key.
    public let values: [String: String]
    /// librdkafka passthrough properties, by property name.
    public let kafkaProperties: [String: String]

    /// development or production.
    public let profile: Profile
    /// Whether the production profile's checks were explicitly overridden.
    public let allowsInsecure: Bool
    /// Kafka's bootstrap servers; nil when no source set them.
    public let brokers: String?
    /// The inbound topic. Default: `dossier.events`.
    public var topic: String { values["kafka.topic"]! }
    /// The consumer group. Default: `lienthong-workers`.
    public var group: String { values["kafka.group"]! }
    /// `group.instance.id`, for static membership. Default: none.
    public var instanceID: String? { values["kafka.instance_id"] }
    /// libpq conninfo or URI; empty: libpq's PG* variables alone.
    public var databaseURL: String { values["database.url"] ?? "" }
    /// The worker's name. Default: none (the host name).
    public var workerID: String? { values["worker.id"] }
    /// The reference-data directory.
    public var referenceData: String { values["worker.reference_data"]! }
    /// `restart` or `extend`.
    public let resumePolicy: String
    /// `worker.resume_policy_by_province`: province code (two digits) → `restart` or `extend`, overriding
    /// ``resumePolicy`` for dossiers received in that province.
    public let resumePolicyByProvince: [String: String]
    /// Seconds between deadline scans; 0: none.
    public let watchInterval: Duration
    /// How long an out-of-order event is held before triage.
    public let gapHold: Duration
    /// The graceful-stop budget.
    public let shutdownBudget: Duration
    /// Records per batch transaction. Default: 3000.
    public let batchSize: Int
    /// Records consumed ahead of the batches, at least ``batchSize``. Default: 8000, or twice ``batchSize`` when that is
    /// more (so that a larger batch size alone never stops startup).
    public let bufferedRecords: Int
    /// Concurrent batch transactions (connections), partitions split between them. Default: 2.
    public let writeLanes: Int
    /// Whether the worker relays the outbox in-process.
    public let relaysOutbox: Bool
    /// Concurrent relay rounds (connections) of a relaying process. Default: 2.
    public let relayConnections: Int
    /// The most records one relay round publishes. Default: 12,000.
    public let relayRoundRecords: Int
    /// How long a stuck poll loop may go without a heartbeat before `/livez` fails.
    public let heartbeatLimit: Duration
    /// The HTTP listener's host.
    public var httpHost: String { values["http.host"]! }
    /// The HTTP listener's port; 0: no listener.
    public let httpPort: Int
    /// swift-log's level name.
    public let logLevel: String
    /// `json` or `text`.
    public let logFormat: String

    /// The two profiles.
    public enum Profile: String, Sendable {
        case development, production
    }

    init(values: [String: String], kafkaProperties: [String: String], environment: [String: String]) throws {
        var values = values
        if values["worker.buffered_records"] == nil {  // resolved here, so that `--print-config` shows it
            let batchSize = values["worker.batch_size"].flatMap { Int($0) } ?? 0
            values["worker.buffered_records"] = String(max(8000, 2 * batchSize))
        }
        self.values = values
        self.kafkaProperties = kafkaProperties
        func choice(_ key: String, _ allowed: [String]) throws -> String {
            let value = values[key]!.lowercased()
            guard allowed.contains(value) else {
                throw SettingsError(key: key, reason: "must be one of \(allowed.joined(separator: ", "))")
            }
            return value
        }
        func seconds(_ key: String) throws -> Duration {
            guard let seconds = Int(values[key]!), seconds >= 0 else {
                throw SettingsError(key: key, reason: "must be a whole number of seconds, 0 or more")
            }
            return .seconds(seconds)
        }
        func flag(_ key: String) throws -> Bool {
            try choice(key, ["true", "false"]) == "true"
        }
        profile = Profile(rawValue: try choice("profile", ["development", "production"]))!
        allowsInsecure = try flag("security.allow_insecure")
        brokers = values["kafka.brokers"].flatMap { $0.isEmpty ? nil : $0 } ?? kafkaProperties["bootstrap.servers"]
        resumePolicy = try choice("worker.resume_policy", ["restart", "extend"])
        resumePolicyByProvince = try Self.policiesByProvince(values["worker.resume_policy_by_province"] ?? "")
        watchInterval = try seconds("worker.watch_interval_seconds")
        gapHold = try seconds("worker.gap_hold_seconds")
        shutdownBudget = try seconds("worker.shutdown_budget_seconds")
        relaysOutbox = try flag("worker.relay")
        guard let batchSize = Int(values["worker.batch_size"]!), (1...10_000).contains(batchSize) else {
            throw SettingsError(key: "worker.batch_size", reason: "must be a whole number from 1 to 10000")
        }
        self.batchSize = batchSize
        guard let bufferedRecords = Int(values["worker.buffered_records"]!),
            (batchSize...1_000_000).contains(bufferedRecords)
        else {
            throw SettingsError(
                key: "worker.buffered_records", reason: "must be a whole number from worker.batch_size to 1000000")
        }
        self.bufferedRecords = bufferedRecords
        guard let writeLanes = Int(values["worker.write_lanes"]!), (1...16).contains(writeLanes) else {
            throw SettingsError(key: "worker.write_lanes", reason: "must be a whole number from 1 to 16")
        }
        self.writeLanes = writeLanes
        guard let relayConnections = Int(values["worker.relay_connections"]!), (1...8).contains(relayConnections) else {
            throw SettingsError(key: "worker.relay_connections", reason: "must be a whole number from 1 to 8")
        }
        self.relayConnections = relayConnections
        guard let relayRoundRecords = Int(values["worker.relay_round_records"]!),
            (1...100_000).contains(relayRoundRecords)
        else {
            throw SettingsError(key: "worker.relay_round_records", reason: "must be a whole number from 1 to 100000")
        }
        self.relayRoundRecords = relayRoundRecords
        heartbeatLimit = try seconds("worker.heartbeat_limit_seconds")
        guard let port = Int(values["http.port"]!), (0...65_535).contains(port) else {
            throw SettingsError(key: "http.port", reason: "must be a port number, 0 to 65535")
        }
        httpPort = port
        logLevel = try choice("log.level", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try choice("log.format", ["json", "text"])
        for key in ["kafka.topic", "kafka.group", "worker.reference_data"] where values[key]!.isEmpty {
            throw SettingsError(key: key, reason: "must not be empty")
        }
        if profile == .production && !allowsInsecure {
            try SecurityProfile.checkProduction(
                kafkaProperties: kafkaProperties, databaseURL: values["database.url"] ?? "",
                environment: environment)
        }
    }

    /// Parses `01=extend,79=restart` (spaces allowed, empty for none).
    private static func policiesByProvince(_ text: String) throws -> [String: String] {
        let key = "worker.resume_policy_by_province"
        var policies: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
                ["restart", "extend"].contains(parts[1].lowercased())
            else {
                throw SettingsError(
                    key: key, reason: "must be a comma-separated list of <2-digit province>=restart|extend")
            }
            guard policies.updateValue(parts[1].lowercased(), forKey: parts[0]) == nil else {
                throw SettingsError(key: key, reason: "names a province twice")
            }
        }
        return policies
    }

    /// The brokers, or an error naming the key when no source set them.
    public func requiredBrokers() throws -> String {
        guard let brokers else {
            throw SettingsError(
                key: "kafka.brokers", reason: "missing: pass --brokers, set LIENTHONG_KAFKA_BROKERS or the file's key")
        }
        return brokers
    }

    /// The settings as YAML, secrets redacted: what `--print-config` prints.
    public func printable() -> String {
        var lines = ["# resolved LienThong settings (flags > environment > file > defaults); secrets redacted"]
        var section = ""
        for definition in SettingDefinition.all {
            let parts = definition.key.split(separator: ".", maxSplits: 1).map(String.init)
            let (head, leaf) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            if head != section {
                section = head
                if !head.isEmpty { lines.append("\(head):") }
            }
            let indent = head.isEmpty ? "" : "  "
            if definition.key == "kafka.properties" {
                lines.append("\(indent)properties:")
                for (name, value) in kafkaProperties.sorted(by: { $0.key < $1.key }) {
                    let shown = KafkaPropertyNames.isSecret(name) ? Redaction.placeholder : value
                    lines.append("\(indent)  - \(Self.quoted("\(name)=\(shown)"))")
                }
                continue
            }
            guard let value = values[definition.key] else {
                lines.append("\(indent)\(leaf): null  # \(definition.summary)")
                continue
            }
            let shown = definition.key == "database.url" ? Redaction.connectionString(value) : value
            lines.append("\(indent)\(leaf): \(Self.quoted(shown))  # \(definition.summary)")
        }
        return lines.joined(separator: "\n")
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
