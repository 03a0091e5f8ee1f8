import Foundation
import LienThongDomain
public import Logging

/// swift-log handler writing one JSON object per line to stdout: `time`, `severity`, `logger`, `message`, the
/// merged metadata as fields (`correlation.id`, `dossier.code`, …), and `source` for warnings and worse.
/// Every string is passed through `CitizenID.maskingEvery(in:)` (no CCCD leaves unmasked); metadata keys naming secrets
/// (`password`, `secret`, `token`) are dropped.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void

    /// Creates a handler for `label` writing lines to stdout (or to `write`, for tests).
    public init(label: String, write: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.write = write ?? { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(Self.line(event: event, label: label, handlerMetadata: metadata))
    }

    /// The JSON line for one event.
    static func line(event: LogEvent, label: String, handlerMetadata: Logger.Metadata) -> String {
        var object: [String: Any] = [
            "time": Self.timestamp(Date()), "severity": event.level.rawValue.uppercased(), "logger": label,
            "message": CitizenID.maskingEvery(in: event.message.description),
        ]
        let merged = handlerMetadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where !Self.isSecretKey(key) && object[key] == nil {
            object[key] = Self.json(value)
        }
        if event.level >= .warning { object["source"] = "\(event.file.split(separator: "/").last ?? ""):\(event.line)" }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return #"{"severity":"ERROR","message":"log line not encodable"}"#
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): CitizenID.maskingEvery(in: text)
        case .stringConvertible(let convertible): CitizenID.maskingEvery(in: convertible.description)
        case .array(let values): values.map(json)
        case .dictionary(let fields): fields.filter { !isSecretKey($0.key) }.mapValues(json)
        }
    }

    private static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["password", "secret", "token"].contains { lowered.contains($0) }
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
