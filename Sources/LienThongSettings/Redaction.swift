import Foundation

/// Hides credentials in values that may hold them, for `--print-config` and logs.
public enum Redaction {
    /// The text shown in place of a secret.
    public static let placeholder = "<redacted>"

    /// A PostgreSQL conninfo string or URI with its password hidden (user, host, database and options stay
    /// readable, so the printout still shows where the worker connects).
    public static func connectionString(_ value: String) -> String {
        if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            guard let schemeEnd = value.range(of: "://"),
                let at = value[schemeEnd.upperBound...].firstIndex(of: "@")
            else { return redactingQueryPassword(value) }
            let credentials = value[schemeEnd.upperBound..<at]
            guard let colon = credentials.firstIndex(of: ":") else { return redactingQueryPassword(value) }
            return redactingQueryPassword(
                String(value[..<colon]) + ":" + placeholder + String(value[at...]))
        }
        return value.split(separator: " ", omittingEmptySubsequences: true).map { pair in
            pair.lowercased().hasPrefix("password=") ? "password=" + placeholder : String(pair)
        }.joined(separator: " ")
    }

    private static func redactingQueryPassword(_ uri: String) -> String {
        guard let query = uri.firstIndex(of: "?") else { return uri }
        let parameters = uri[uri.index(after: query)...].split(separator: "&").map { parameter in
            parameter.lowercased().hasPrefix("password=") ? "password=" + placeholder : String(parameter)
        }
        return String(uri[...query]) + parameters.joined(separator: "&")
    }
}
