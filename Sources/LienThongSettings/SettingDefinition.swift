/// One documented setting: its dotted key (as in the YAML file), its default and whether its value is secret.
///
/// The same key is read from every source: `--flag` (see ``flag``), `LIENTHONG_<KEY>` in the environment (dots
/// and dashes become underscores, upper-cased: `worker.gap_hold_seconds` → `LIENTHONG_WORKER_GAP_HOLD_SECONDS`),
/// and the YAML file. Any key may instead be given as `<key>_file`, the path of a file holding the value.
public struct SettingDefinition: Sendable, Hashable {
    /// The dotted key, e.g. `database.url`.
    public let key: String
    /// The value used when no source sets it; nil: unset.
    public let defaultValue: String?
    /// Whether `--print-config` and logs must redact it.
    public let isSecret: Bool
    /// One line for `--print-config` and the documentation.
    public let summary: String

    init(_ key: String, default defaultValue: String?, secret: Bool = false, _ summary: String) {
        self.key = key
        self.defaultValue = defaultValue
        self.isSecret = secret
        self.summary = summary
    }

    /// The environment variable that sets it.
    public var environmentVariable: String {
        "LIENTHONG_" + key.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}

extension SettingDefinition {
    /// Every setting, in the order `--print-config` shows them.
    public static let all: [SettingDefinition] = [
        SettingDefinition(
            "profile", default: "development",
            "development or production (production refuses plaintext Kafka and sslmode below verify-full)"),
        SettingDefinition(
            "security.allow_insecure", default: "false",
            "true lets the production profile start with plaintext Kafka or a weak sslmode (logged)"),
        SettingDefinition("kafka.brokers", default: nil, "bootstrap servers, host:port[,…]"),
        SettingDefinition("kafka.topic", default: "dossier.events", "the inbound topic"),
        SettingDefinition("kafka.group", default: "lienthong-workers", "the consumer group shared by the fleet"),
        SettingDefinition(
            "kafka.instance_id", default: nil, "group.instance.id for static membership (a StatefulSet pod name)"),
        SettingDefinition(
            "kafka.properties", default: nil,
            "librdkafka properties as a list of name=value (also LIENTHONG_KAFKA_<PROPERTY>)"),
        SettingDefinition(
            "database.url", default: nil, secret: true,
            "libpq conninfo or postgresql:// URI (unset: DATABASE_URL, then libpq's PG* variables)"),
        SettingDefinition("topics.status", default: "dossier.status", "status changes and SLA warnings"),
        SettingDefinition("topics.dead_letter", default: "dossier.events.dlq", "dead letters"),
        SettingDefinition("topics.triage", default: "dossier.triage", "dossiers a person must route"),
        SettingDefinition("topics.portal_sync", default: "portal.sync", "records for the national portal"),
        SettingDefinition(
            "topics.work_prefix", default: "dossier.work", "work-item topics: <prefix>.commune|department|ministry"),
        SettingDefinition("worker.id", default: nil, "name in dead letters and logs (default: the host name)"),
        SettingDefinition(
            "worker.reference_data", default: "Schemas/reference-data",
            "directory of units, agencies, catalogue, calendar"),
        SettingDefinition("worker.resume_policy", default: "restart", "restart or extend a clock paused at 5"),
        SettingDefinition(
            "worker.resume_policy_by_province", default: "",
            "provinces whose policy differs, by the receiving point's province: 01=extend,79=restart"),
        SettingDefinition(
            "worker.watch_interval_seconds", default: "30", "seconds between deadline scans (0: no scans)"),
        SettingDefinition(
            "worker.gap_hold_seconds", default: "600", "seconds an out-of-order event waits before triage"),
        SettingDefinition(
            "worker.shutdown_budget_seconds", default: "25", "seconds for a graceful stop; past it, exit 1"),
        SettingDefinition("worker.relay", default: "false", "also publish the outbox from this process"),
        SettingDefinition(
            "worker.relay_connections", default: "2",
            "concurrent relay rounds of a relaying process, each on its own connection, sharing the shards (1 to 8)"),
        SettingDefinition(
            "worker.relay_round_records", default: "12000",
            "most records one relay round publishes (1 to 100000): fewer, larger rounds, more memory held per round"),
        SettingDefinition(
            "worker.batch_size", default: "3000",
            "records per consumed batch, 1 to 10000, split over the write lanes"),
        SettingDefinition(
            "worker.buffered_records", default: nil,
            "records consumed ahead of the batches (the high watermark: the consumer takes no more above it, until"
                + " half of it), from worker.batch_size to 1000000; a record waits behind them before its transaction"
                + " (default: 8000, or twice worker.batch_size when that is more)"),
        SettingDefinition(
            "worker.write_lanes", default: "2",
            "concurrent batch transactions, each on its own connection, partitions split between them (1 to 16)"),
        SettingDefinition(
            "worker.heartbeat_limit_seconds", default: "30", "/livez fails when a poll loop is stuck this long"),
        SettingDefinition("http.host", default: "0.0.0.0", "address of probes, /metrics and the status API"),
        SettingDefinition("http.port", default: "8080", "port of probes, /metrics and the status API (0: none)"),
        SettingDefinition("log.level", default: "info", "trace, debug, info, notice, warning, error or critical"),
        SettingDefinition("log.format", default: "json", "json (one object per line) or text"),
    ]

    /// The definition of `key`, if it is one of ``all``.
    public static func named(_ key: String) -> SettingDefinition? {
        all.first { $0.key == key }
    }
}
