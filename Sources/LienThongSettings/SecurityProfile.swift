import Foundation

/// The production profile's refusals: Kafka without TLS and PostgreSQL without a verified certificate.
enum SecurityProfile {
    /// Throws unless Kafka uses `ssl` or `sasl_ssl` and PostgreSQL's `sslmode` is `verify-full`.
    static func checkProduction(
        kafkaProperties: [String: String], databaseURL: String, environment: [String: String]
    ) throws {
        let kafkaProtocol = kafkaProperties["security.protocol"]?.lowercased() ?? "plaintext"
        guard kafkaProtocol == "ssl" || kafkaProtocol == "sasl_ssl" else {
            throw SettingsError(
                key: "kafka.properties.security.protocol",
                reason:
                    "the production profile refuses \(kafkaProtocol) Kafka; use ssl or sasl_ssl "
                    + "(or set security.allow_insecure: true)")
        }
        let mode = sslMode(in: databaseURL) ?? environment["PGSSLMODE"] ?? "prefer"
        guard mode == "verify-full" else {
            throw SettingsError(
                key: "database.url",
                reason:
                    "the production profile needs sslmode=verify-full, got \(mode) "
                    + "(or set security.allow_insecure: true)")
        }
    }

    /// The `sslmode` a conninfo string or URI names.
    static func sslMode(in connection: String) -> String? {
        let separators: Set<Character> = connection.contains("://") ? ["?", "&"] : [" "]
        for part in connection.split(whereSeparator: { separators.contains($0) }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == "sslmode" {
                return pair[1].trimmingCharacters(in: .whitespaces).lowercased()
            }
        }
        return nil
    }
}
