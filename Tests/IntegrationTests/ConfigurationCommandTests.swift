import Foundation
import Testing

@Suite("lienthong --print-config and startup refusals, as a process")
struct ConfigurationCommandTests {
    /// The test process's environment without LienThong's own variables, plus `extra`.
    private func environment(_ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LIENTHONG_") && $0.key != "DATABASE_URL" }
            .merging(extra) { _, new in new }
    }

    @Test func printConfigShowsThePrecedenceResultWithSecretsRedacted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("lienthong.yaml")
        try "kafka:\n  group: from-file\n  topic: from-file\nworker:\n  gap_hold_seconds: 90\n".write(
            to: file, atomically: true, encoding: .utf8)
        let secret = directory.appendingPathComponent("sasl")
        try "hunter2\n".write(to: secret, atomically: true, encoding: .utf8)
        let result = try runLienThongToEnd(
            ["worker", "--config", file.path, "--group", "from-flag", "--print-config"],
            environment: environment([
                "LIENTHONG_KAFKA_TOPIC": "from-env", "LIENTHONG_KAFKA_SASL_PASSWORD_FILE": secret.path,
                "LIENTHONG_DATABASE_URL": "postgresql://app:pw-123@db/lienthong", "LIENTHONG_KAFKA_BROKERS": "k:9092",
            ]))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#"group: "from-flag""#))
        #expect(result.output.contains(#"topic: "from-env""#))
        #expect(result.output.contains(#"gap_hold_seconds: "90""#))
        #expect(result.output.contains(#""sasl.password=<redacted>""#))
        #expect(result.output.contains("postgresql://app:<redacted>@db/lienthong"))
        #expect(!result.output.contains("hunter2") && !result.output.contains("pw-123"))
    }

    @Test(arguments: [
        (["LIENTHONG_WORKER_GAP_HOLD_SECONDS": "soon"], "worker.gap_hold_seconds"),
        (
            ["LIENTHONG_PROFILE": "production", "LIENTHONG_KAFKA_BROKERS": "k:9092"],
            "kafka.properties.security.protocol"
        ),
        (
            [
                "LIENTHONG_PROFILE": "production", "LIENTHONG_KAFKA_SECURITY_PROTOCOL": "SSL",
                "LIENTHONG_DATABASE_URL": "host=db sslmode=require",
            ], "database.url"
        ),
    ])
    func aBadSettingStopsStartupNamingTheKey(variables: [String: String], key: String) throws {
        let result = try runLienThongToEnd(["worker"], environment: environment(variables))
        #expect(result.status != 0)
        #expect(result.output.contains(key), "\(result.output)")
    }

    @Test func missingBrokersAreNamed() throws {
        let result = try runLienThongToEnd(
            ["relay", "--database-url", "host=/nonexistent"], environment: environment([:]))
        #expect(result.status != 0)
        #expect(result.output.contains("kafka.brokers"), "\(result.output)")
    }
}
