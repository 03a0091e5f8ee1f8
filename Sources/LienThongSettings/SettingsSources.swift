import Configuration
import Foundation
import SystemPackage
import Yams

/// Where settings come from, highest precedence first: command-line flags, the environment (`LIENTHONG_*`,
/// `LIENTHONG_KAFKA_<PROPERTY>`, then `DATABASE_URL`), the YAML file (`--config` or `LIENTHONG_CONFIG`), the
/// defaults of ``SettingDefinition/all``. A value given as `<key>_file` is read from that file (trailing newline
/// trimmed); a direct value wins over a `_file` one.
public struct SettingsSources: Sendable {
    /// Values from flags the user typed, by dotted key (unset flags are absent).
    public var flags: [String: String]
    /// `name=value` librdkafka properties from repeated `--kafka-property` flags.
    public var flagKafkaProperties: [String]
    /// The process environment.
    public var environment: [String: String]
    /// The YAML file; nil: `LIENTHONG_CONFIG`, else none.
    public var configurationFile: String?

    /// Creates the sources; `environment` nil: the process's.
    public init(
        flags: [String: String] = [:], flagKafkaProperties: [String] = [],
        environment: [String: String]? = nil, configurationFile: String? = nil
    ) {
        self.flags = flags
        self.flagKafkaProperties = flagKafkaProperties
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.configurationFile = configurationFile
    }

    /// Reads every source and returns the resolved values, checked.
    /// - Throws: ``SettingsError`` naming the key (or the file) at fault.
    public func resolve() async throws -> ResolvedSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: flags.map {
                        (AbsoluteConfigKey(stringLiteral: $0.key), ConfigValue(.string($0.value), isSecret: false))
                    })),
            KeyMappingProvider(upstream: EnvironmentVariablesProvider(environmentVariables: environment)) {
                $0.prepending(["lienthong"])
            },
        ]
        let file = configurationFile ?? environment["LIENTHONG_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        if let file {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw SettingsError(key: file, reason: "the configuration file cannot be read")
            }
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
            } catch {
                throw SettingsError(key: file, reason: "the configuration file is not valid YAML: \(error)")
            }
            try Self.checkKeys(ofFile: file)
        }
        let reader = ConfigReader(providers: providers)
        var values: [String: String] = [:]
        for definition in SettingDefinition.all where definition.key != "kafka.properties" {
            if let value = try lookUp(definition, in: reader) { values[definition.key] = value }
        }
        if values["database.url"] == nil, let url = environment["DATABASE_URL"], !url.isEmpty {
            values["database.url"] = url
        }
        let properties = try kafkaProperties(reader)
        return try ResolvedSettings(values: values, kafkaProperties: properties, environment: environment)
    }

    private func lookUp(_ definition: SettingDefinition, in reader: ConfigReader) throws -> String? {
        let key = ConfigKey(definition.key)
        if let value = reader.string(forKey: key, isSecret: definition.isSecret) { return value }
        if let path = reader.string(forKey: ConfigKey(definition.key + "_file")) {
            return try Self.readSecretFile(path, key: definition.key + "_file")
        }
        return definition.defaultValue
    }

    /// Passthrough properties: the file's `kafka.properties` list, then the environment, then flags.
    private func kafkaProperties(_ reader: ConfigReader) throws -> [String: String] {
        var properties: [String: String] = [:]
        let fromFile = reader.stringArray(forKey: "kafka.properties") ?? []
        for pair in fromFile {
            let (name, value) = try Self.split(pair, key: "kafka.properties")
            properties[name] = value
        }
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) {
            guard let (property, isFile) = KafkaPropertyNames.property(forEnvironmentVariable: variable) else {
                continue
            }
            properties[property] = isFile ? try Self.readSecretFile(value, key: variable) : value
        }
        for pair in flagKafkaProperties {
            let (name, value) = try Self.split(pair, key: "--kafka-property")
            properties[name] = value
        }
        return properties
    }

    /// Refuses a key the file sets that no setting has (a typo would otherwise be ignored in silence), naming it.
    static func checkKeys(ofFile file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let document = try? Yams.load(yaml: text) else { return }
        guard let root = document as? [String: Any] else {
            throw SettingsError(key: file, reason: "the configuration file must be a mapping of keys")
        }
        let known = Set(SettingDefinition.all.map(\.key))
        func visit(_ value: Any, _ path: String) throws {
            if path == "kafka.properties" {
                guard value is [Any] else {
                    throw SettingsError(key: path, reason: "must be a list of name=value entries")
                }
                return
            }
            if let map = value as? [String: Any], !known.contains(path) {
                for (key, child) in map { try visit(child, path.isEmpty ? key : path + "." + key) }
                return
            }
            let base = path.hasSuffix("_file") ? String(path.dropLast(5)) : path
            guard known.contains(base) else {
                throw SettingsError(key: path, reason: "unknown key (every key: lienthong worker --print-config)")
            }
        }
        try visit(root, "")
    }

    static func split(_ pair: String, key: String) throws -> (String, String) {
        let parts = pair.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw SettingsError(key: key, reason: "expects name=value entries")
        }
        return (String(parts[0]).trimmingCharacters(in: .whitespaces), String(parts[1]))
    }

    static func readSecretFile(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw SettingsError(key: key, reason: "cannot read the file it names") }
        return text.trimmingCharacters(in: .newlines)
    }
}
