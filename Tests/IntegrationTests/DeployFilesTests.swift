import Foundation
import LienThongSettings
import Testing
import Yams

/// Every YAML document under `Deploy/`, by path relative to it.
private func deployYAML() throws -> [(path: String, documents: [Any])] {
    let enumerator = try #require(FileManager.default.enumerator(atPath: deployDirectory))
    var files: [(path: String, documents: [Any])] = []
    while let path = enumerator.nextObject() as? String {
        guard path.hasSuffix(".yml") || path.hasSuffix(".yaml") else { continue }
        let text = try String(contentsOfFile: deployDirectory + "/" + path, encoding: .utf8)
        files.append((path, try Array(Yams.load_all(yaml: text)).compactMap { $0 }))
    }
    return files.sorted { $0.path < $1.path }
}

/// Every string inside a YAML value.
private func strings(in value: Any) -> [String] {
    switch value {
    case let text as String: [text]
    case let list as [Any]: list.flatMap(strings)
    case let map as [String: Any]: map.keys.map { $0 } + map.values.flatMap(strings)
    default: []
    }
}

/// The dotted leaf keys of a YAML mapping.
private func leafKeys(_ value: Any, prefix: String = "") -> [String] {
    guard let map = value as? [String: Any] else { return [prefix] }
    return map.flatMap { key, child in leafKeys(child, prefix: prefix.isEmpty ? key : prefix + "." + key) }
}

/// The `lienthong` argument lists in compose `command:` and Kubernetes `args:` entries.
private func lienThongInvocations(in value: Any) -> [[String]] {
    switch value {
    case let list as [Any]: return list.flatMap(lienThongInvocations)
    case let map as [String: Any]:
        var found: [[String]] = []
        for (key, child) in map {
            if key == "command" || key == "args", let arguments = child as? [String], let first = arguments.first,
                !first.hasPrefix("-"), !first.hasPrefix("/"), !first.contains("=")
            {
                found.append(arguments)
            } else {
                found += lienThongInvocations(in: child)
            }
        }
        return found
    default: return []
    }
}

@Suite("Deploy/: files parse and agree with the CLI, the settings and the metrics")
struct DeployFilesTests {
    @Test func everyYAMLAndJSONFileParses() throws {
        let files = try deployYAML()
        #expect(files.count >= 10, "\(files.map(\.path))")
        for file in files { #expect(!file.documents.isEmpty, "\(file.path) is empty") }
        let dashboard = try Data(
            contentsOf: URL(fileURLWithPath: deployDirectory + "/grafana/dashboards/lienthong.json"))
        let panels = try #require(
            (try JSONSerialization.jsonObject(with: dashboard) as? [String: Any])?["panels"] as? [Any])
        #expect(panels.count >= 10)
    }

    @Test func commandsNameRealSubcommandsAndFlags() throws {
        var checked = 0
        for file in try deployYAML() where file.path.contains("compose") || file.path.hasPrefix("kubernetes") {
            for arguments in file.documents.flatMap(lienThongInvocations)
            where ["worker", "relay", "migrate"].contains(arguments[0]) || !arguments[0].contains(".") {
                guard arguments[0].first?.isLowercase == true, !arguments[0].contains("-c") else { continue }
                if arguments[0].hasPrefix("--") { continue }
                if ["bash", "sh", "CMD", "CMD-SHELL"].contains(arguments[0]) { continue }
                if arguments[0].hasPrefix("--config.file") { continue }
                let help = try runLienThongToEnd([arguments[0], "--help"])
                #expect(help.status == 0, "\(file.path): lienthong \(arguments[0]) is a subcommand")
                for flag in arguments.dropFirst() where flag.hasPrefix("--") {
                    #expect(help.output.contains(flag), "\(file.path): lienthong \(arguments[0]) takes \(flag)")
                }
                checked += 1
            }
        }
        #expect(checked >= 4)
    }

    @Test func environmentVariablesAreSettingsOrPassthroughProperties() throws {
        let known = Set(SettingDefinition.all.map(\.environmentVariable)).union(["LIENTHONG_CONFIG"])
        var seen = 0
        for file in try deployYAML() {
            for text in file.documents.flatMap(strings) {
                for match in text.matches(of: /LIENTHONG_[A-Z0-9_]+/) {
                    let name = String(match.output)
                    let base = name.hasSuffix("_FILE") ? String(name.dropLast(5)) : name
                    let isSetting = known.contains(base)
                    let isPassthrough = KafkaPropertyNames.property(forEnvironmentVariable: name) != nil
                    #expect(isSetting || isPassthrough, "\(file.path): \(name) is not a LienThong variable")
                    seen += 1
                }
            }
        }
        #expect(seen >= 10)
    }

    @Test func theExampleConfigurationUsesOnlyRealKeysAndTheClusterConfigurationPassesProduction() async throws {
        let example = try #require(
            try Yams.load(yaml: String(contentsOfFile: deployDirectory + "/lienthong.example.yaml", encoding: .utf8)))
        let keys = Set(SettingDefinition.all.map(\.key))
        for key in leafKeys(example) {
            let base = key.hasSuffix("_file") ? String(key.dropLast(5)) : key
            #expect(keys.contains(base), "lienthong.example.yaml: \(key) is not a setting")
        }

        // The Kubernetes ConfigMap's file, with the example secret mounted, starts under the production profile.
        let configMap = try #require(
            try Yams.load(
                yaml: String(contentsOfFile: deployDirectory + "/kubernetes/configmap.yaml", encoding: .utf8))
                as? [String: Any])
        let embedded = try #require((configMap["data"] as? [String: Any])?["lienthong.yaml"] as? String)
        let secret = try #require(
            try Yams.load(
                yaml: String(contentsOfFile: deployDirectory + "/kubernetes/secret.example.yaml", encoding: .utf8))
                as? [String: Any])
        let url = try #require((secret["stringData"] as? [String: Any])?["database-url"] as? String)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try embedded.write(to: directory.appendingPathComponent("lienthong.yaml"), atomically: true, encoding: .utf8)
        try url.write(to: directory.appendingPathComponent("database-url"), atomically: true, encoding: .utf8)
        let settings = try await SettingsSources(
            environment: [
                "LIENTHONG_CONFIG": directory.appendingPathComponent("lienthong.yaml").path,
                "LIENTHONG_DATABASE_URL_FILE": directory.appendingPathComponent("database-url").path,
            ]
        ).resolve()
        #expect(settings.profile == .production)
        #expect(!settings.printable().contains("change-me"), "secrets are redacted")

        // Kubernetes waits longer than the worker's drain budget before SIGKILL.
        let statefulSet = try String(
            contentsOfFile: deployDirectory + "/kubernetes/statefulset.yaml", encoding: .utf8)
        let grace = try #require(
            Int(statefulSet.firstMatch(of: /terminationGracePeriodSeconds: (\d+)/)?.output.1 ?? ""))
        #expect(grace > Int(settings.shutdownBudget.components.seconds))
    }

    @Test func theImageBuildsWithTheToolchainAndRunsSlimAndUnprivileged() throws {
        let dockerfile = try String(contentsOfFile: deployDirectory + "/Dockerfile", encoding: .utf8)
        let stages = dockerfile.matches(of: /(?m)^FROM (\S+) AS (\S+)/).map {
            (String($0.output.1), String($0.output.2))
        }
        #expect(stages.count == 2)
        #expect(stages.first?.0.hasPrefix("swift:") == true)
        #expect(stages.last?.0.contains("slim") == true)
        #expect(dockerfile.contains("librdkafka1") && dockerfile.contains("libpq5"))
        #expect(dockerfile.contains(/(?m)^USER 10001/))
    }
}
