import Foundation

/// The name rule that turns `LIENTHONG_KAFKA_<PROPERTY>` environment variables into librdkafka properties.
///
/// Strip the prefix, lower-case, `_` becomes `.` and `__` becomes `_`:
/// `LIENTHONG_KAFKA_SECURITY_PROTOCOL` → `security.protocol`, `LIENTHONG_KAFKA_SASL_PASSWORD_FILE` →
/// `sasl.password` read from the named file. `LIENTHONG_KAFKA_BROKERS`, `_TOPIC`, `_GROUP`, `_INSTANCE_ID` and
/// `_PROPERTIES` are LienThong's own `kafka.*` settings, not properties.
public enum KafkaPropertyNames {
    static let prefix = "LIENTHONG_KAFKA_"
    static let ownSettings: Set<String> = ["BROKERS", "TOPIC", "GROUP", "INSTANCE_ID", "PROPERTIES"]

    /// The property an environment variable names and whether its value is a file path; nil if the variable is
    /// not a passthrough property.
    public static func property(forEnvironmentVariable name: String) -> (property: String, isFile: Bool)? {
        guard name.hasPrefix(prefix) else { return nil }
        var rest = String(name.dropFirst(prefix.count))
        let ownName = rest.hasSuffix("_FILE") ? String(rest.dropLast(5)) : rest
        guard !rest.isEmpty, !ownSettings.contains(ownName) else { return nil }
        let isFile = rest.hasSuffix("_FILE")
        if isFile { rest = String(rest.dropLast(5)) }
        let property = rest.lowercased()
            .replacingOccurrences(of: "__", with: "\u{0}")
            .replacingOccurrences(of: "_", with: ".")
            .replacingOccurrences(of: "\u{0}", with: "_")
        return (property, isFile)
    }

    /// The environment variable that sets `property`.
    public static func environmentVariable(for property: String) -> String {
        prefix
            + property.replacingOccurrences(of: "_", with: "__").replacingOccurrences(of: ".", with: "_").uppercased()
    }

    /// Whether a property's value is a credential (redacted by `--print-config`).
    public static func isSecret(_ property: String) -> Bool {
        let name = property.lowercased()
        return ["password", "secret", "ssl.key.pem", "sasl.oauthbearer.config", "sasl.jaas"].contains {
            name.contains($0)
        }
    }
}
