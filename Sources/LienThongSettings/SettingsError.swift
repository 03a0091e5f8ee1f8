/// A setting that is missing, malformed or refused: startup stops and names the key.
public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The dotted key at fault (`kafka.brokers`), or the file for an unreadable configuration file.
    public let key: String
    /// What is wrong, without the value (it may be a secret).
    public let reason: String

    /// Creates an error about `key`.
    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "configuration key \(key): \(reason)" }
}
