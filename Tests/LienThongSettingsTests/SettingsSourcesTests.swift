import Foundation
import LienThongSettings
import Testing

@Suite("Settings: precedence, passthrough, secrets, profiles")
struct SettingsSourcesTests {
    /// A YAML file in a fresh temporary directory.
    private func file(_ text: String, name: String = "lienthong.yaml") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("defaults apply when no source sets a key")
    func defaults() async throws {
        let settings = try await SettingsSources(environment: [:]).resolve()
        #expect(settings.topic == "dossier.events")
        #expect(settings.gapHold == .seconds(600))
        #expect(settings.httpPort == 8080)
        #expect(settings.writeLanes == 2 && settings.relayConnections == 2 && settings.relayRoundRecords == 12_000)
        #expect(settings.brokers == nil)
        #expect(throws: SettingsError.self) { try settings.requiredBrokers() }
    }

    @Test("flags beat the environment, which beats the file, which beats defaults")
    func precedence() async throws {
        let path = try file(
            """
            # comment lines are fine
            kafka:
              brokers: file:9092
              group: file-group
              topic: file-topic
            worker:
              gap_hold_seconds: 120
            """)
        let environment = ["LIENTHONG_KAFKA_BROKERS": "env:9092", "LIENTHONG_KAFKA_GROUP": "env-group"]
        let settings = try await SettingsSources(
            flags: ["kafka.brokers": "flag:9092"], environment: environment, configurationFile: path
        ).resolve()
        #expect(settings.brokers == "flag:9092")
        #expect(settings.group == "env-group")
        #expect(settings.topic == "file-topic")
        #expect(settings.gapHold == .seconds(120))
        #expect(settings.watchInterval == .seconds(30))
    }

    @Test("the configuration file comes from LIENTHONG_CONFIG when no flag names one")
    func fileFromEnvironment() async throws {
        let path = try file("http:\n  port: 9100\n")
        let settings = try await SettingsSources(environment: ["LIENTHONG_CONFIG": path]).resolve()
        #expect(settings.httpPort == 9100)
    }

    @Test(
        "LIENTHONG_KAFKA_<PROPERTY> passes librdkafka properties through by the name rule",
        arguments: [
            ("LIENTHONG_KAFKA_SECURITY_PROTOCOL", "security.protocol"),
            ("LIENTHONG_KAFKA_SASL_MECHANISMS", "sasl.mechanisms"),
            ("LIENTHONG_KAFKA_STATISTICS_INTERVAL_MS", "statistics.interval.ms"),
            ("LIENTHONG_KAFKA_SOME__UNDERSCORED_NAME", "some_underscored.name"),
        ])
    func passthroughNames(variable: String, property: String) async throws {
        #expect(KafkaPropertyNames.property(forEnvironmentVariable: variable)?.property == property)
        #expect(KafkaPropertyNames.environmentVariable(for: property) == variable)
        let settings = try await SettingsSources(environment: [variable: "x"]).resolve()
        #expect(settings.kafkaProperties[property] == "x")
    }

    @Test("LienThong's own kafka keys are not passed through")
    func ownKafkaKeys() {
        for name in ["LIENTHONG_KAFKA_BROKERS", "LIENTHONG_KAFKA_GROUP", "LIENTHONG_KAFKA_INSTANCE_ID", "OTHER_X"] {
            #expect(KafkaPropertyNames.property(forEnvironmentVariable: name) == nil)
        }
    }

    @Test("passthrough precedence: flags over environment over the file's list")
    func passthroughPrecedence() async throws {
        let path = try file("kafka:\n  properties:\n    - linger.ms=50\n    - acks=all\n    - client.id=file\n")
        let settings = try await SettingsSources(
            flagKafkaProperties: ["linger.ms=5"], environment: ["LIENTHONG_KAFKA_ACKS": "1"],
            configurationFile: path
        ).resolve()
        #expect(settings.kafkaProperties == ["linger.ms": "5", "acks": "1", "client.id": "file"])
    }

    @Test("secrets come from files: <key>_file and LIENTHONG_KAFKA_<PROPERTY>_FILE, redacted when printed")
    func secretFiles() async throws {
        let urlFile = try file("postgresql://app:s3cret@db:5432/lienthong?sslmode=verify-full\n", name: "db")
        let passwordFile = try file("kafka-pass\n", name: "kafka")
        let settings = try await SettingsSources(
            environment: [
                "LIENTHONG_DATABASE_URL_FILE": urlFile, "LIENTHONG_KAFKA_SASL_PASSWORD_FILE": passwordFile,
                "LIENTHONG_KAFKA_SASL_USERNAME": "worker",
            ]
        ).resolve()
        #expect(settings.databaseURL == "postgresql://app:s3cret@db:5432/lienthong?sslmode=verify-full")
        #expect(settings.kafkaProperties["sasl.password"] == "kafka-pass")
        let printed = settings.printable()
        #expect(!printed.contains("s3cret"))
        #expect(!printed.contains("kafka-pass"))
        #expect(printed.contains("postgresql://app:<redacted>@db:5432/lienthong?sslmode=verify-full"))
        #expect(printed.contains("sasl.username=worker"))
    }

    @Test("provinces resuming otherwise are read from one list")
    func resumePolicyByProvince() async throws {
        let settings = try await SettingsSources(
            environment: ["LIENTHONG_WORKER_RESUME_POLICY_BY_PROVINCE": "01=extend, 79=RESTART"]
        ).resolve()
        #expect(settings.resumePolicyByProvince == ["01": "extend", "79": "restart"])
        #expect(try await SettingsSources(environment: [:]).resolve().resumePolicyByProvince.isEmpty)
    }

    @Test("the buffer holds 8000 records, or twice a larger batch, unless set")
    func bufferedRecordsFollowTheBatchSize() async throws {
        #expect(try await SettingsSources(environment: [:]).resolve().bufferedRecords == 8000)
        let large = try await SettingsSources(environment: ["LIENTHONG_WORKER_BATCH_SIZE": "10000"]).resolve()
        #expect(large.bufferedRecords == 20_000)
        #expect(large.printable().contains("buffered_records: \"20000\""))
        let set = try await SettingsSources(
            environment: ["LIENTHONG_WORKER_BATCH_SIZE": "5000", "LIENTHONG_WORKER_BUFFERED_RECORDS": "6000"]
        ).resolve()
        #expect(set.bufferedRecords == 6000)
    }

    @Test("conninfo passwords are redacted too")
    func conninfoRedaction() {
        #expect(Redaction.connectionString("host=db password=x user=a") == "host=db password=<redacted> user=a")
        #expect(
            Redaction.connectionString("postgres://db/x?password=y&sslmode=require")
                == "postgres://db/x?password=<redacted>&sslmode=require")
    }

    @Test(
        "a malformed value stops startup naming its key",
        arguments: [
            ("LIENTHONG_WORKER_GAP_HOLD_SECONDS", "ten", "worker.gap_hold_seconds"),
            ("LIENTHONG_HTTP_PORT", "70000", "http.port"),
            ("LIENTHONG_PROFILE", "staging", "profile"),
            ("LIENTHONG_WORKER_RESUME_POLICY", "pause", "worker.resume_policy"),
            ("LIENTHONG_WORKER_RESUME_POLICY_BY_PROVINCE", "1=extend", "worker.resume_policy_by_province"),
            ("LIENTHONG_WORKER_RESUME_POLICY_BY_PROVINCE", "01=pause", "worker.resume_policy_by_province"),
            ("LIENTHONG_WORKER_RESUME_POLICY_BY_PROVINCE", "01=extend,01=restart", "worker.resume_policy_by_province"),
            ("LIENTHONG_LOG_FORMAT", "xml", "log.format"),
            ("LIENTHONG_WORKER_BATCH_SIZE", "-5", "worker.batch_size"),
            ("LIENTHONG_WORKER_BUFFERED_RECORDS", "2999", "worker.buffered_records"),
            ("LIENTHONG_WORKER_WRITE_LANES", "0", "worker.write_lanes"),
            ("LIENTHONG_WORKER_RELAY_CONNECTIONS", "9", "worker.relay_connections"),
            ("LIENTHONG_WORKER_RELAY_ROUND_RECORDS", "100001", "worker.relay_round_records"),
            ("LIENTHONG_WORKER_RELAY", "yes please", "worker.relay"),
            ("LIENTHONG_DATABASE_URL_FILE", "/nonexistent/secret", "database.url_file"),
        ])
    func invalidValue(variable: String, value: String, key: String) async throws {
        let error = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: [variable: value]).resolve()
        }
        #expect(error?.key == key)
        #expect(error?.description.contains(value) == false)
    }

    @Test("a configuration file that is missing or not YAML is named")
    func badFile() async throws {
        let missing = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: [:], configurationFile: "/nonexistent.yaml").resolve()
        }
        #expect(missing?.key == "/nonexistent.yaml")
        let broken = try file("kafka: [unclosed\n")
        let invalid = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: [:], configurationFile: broken).resolve()
        }
        #expect(invalid?.key == broken)
    }

    @Test(
        "a key the file sets that no setting has is named, and kafka.properties must be a list",
        arguments: [
            ("worker:\n  gap_hold_second: 60\n", "worker.gap_hold_second"),
            ("kafak:\n  brokers: k:9092\n", "kafak.brokers"),
            ("kafka:\n  properties:\n    security.protocol: SSL\n", "kafka.properties"),
            ("database:\n  url_fil: /run/secrets/db\n", "database.url_fil"),
        ])
    func unknownFileKeys(yaml: String, key: String) async throws {
        let path = try file(yaml)
        let error = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: [:], configurationFile: path).resolve()
        }
        #expect(error?.key == key)
    }

    @Test("the production profile refuses plaintext Kafka and sslmode below verify-full, unless overridden")
    func productionProfile() async throws {
        let secure = [
            "LIENTHONG_PROFILE": "production", "LIENTHONG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LIENTHONG_DATABASE_URL": "host=db sslmode=verify-full",
        ]
        _ = try await SettingsSources(environment: secure).resolve()

        var plaintext = secure
        plaintext["LIENTHONG_KAFKA_SECURITY_PROTOCOL"] = "plaintext"
        let kafka = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: plaintext).resolve()
        }
        #expect(kafka?.key == "kafka.properties.security.protocol")

        var weak = secure
        weak["LIENTHONG_DATABASE_URL"] = "postgresql://db/lienthong?sslmode=require"
        let database = await #expect(throws: SettingsError.self) {
            try await SettingsSources(environment: weak).resolve()
        }
        #expect(database?.key == "database.url")

        weak["PGSSLMODE"] = "verify-full"
        weak["LIENTHONG_DATABASE_URL"] = "host=db"
        _ = try await SettingsSources(environment: weak).resolve()

        plaintext["LIENTHONG_SECURITY_ALLOW_INSECURE"] = "true"
        let overridden = try await SettingsSources(environment: plaintext).resolve()
        #expect(overridden.allowsInsecure)
    }

    @Test("the development profile accepts plaintext")
    func developmentProfile() async throws {
        let settings = try await SettingsSources(environment: ["LIENTHONG_DATABASE_URL": "host=x sslmode=disable"])
            .resolve()
        #expect(settings.profile == .development)
    }
}
