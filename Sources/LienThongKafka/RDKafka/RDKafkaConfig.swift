internal import CRdKafka

/// The one place where an `rd_kafka_conf_t` is built from properties.
///
/// Owns the configuration until ``release()`` hands it to `rd_kafka_new`.
final class RDKafkaConfig {
    private var conf: OpaquePointer?

    /// Builds a configuration, applying the properties in order.
    /// - Throws: ``KafkaError`` with code `.invalidConfiguration` naming the first property librdkafka refuses
    ///   (its value is not repeated: it may be a secret).
    init(properties: [(name: String, value: String)]) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .clientCreation, reason: "rd_kafka_conf_new failed")
        }
        self.conf = conf
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            let result = rd_kafka_conf_set(conf, name, value, &errorBuffer, errorBuffer.count)
            guard result == RD_KAFKA_CONF_OK else {
                // librdkafka quotes the offending value; it may be a secret, so it never leaves this function.
                let reason =
                    value.isEmpty
                    ? String(errorBuffer: errorBuffer)
                    : String(errorBuffer: errorBuffer).replacingOccurrences(of: value, with: "(redacted)")
                throw KafkaError(
                    code: .invalidConfiguration,
                    reason: result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : reason,
                    property: name
                )
            }
        }
    }

    deinit {
        if let conf { rd_kafka_conf_destroy(conf) }
    }

    /// Registers the callback context and callbacks; see `RDKafkaCallbacks.swift`.
    func install(context: RDKafkaCallbackContext, kind: RDKafkaClient.Kind) {
        guard let conf else { return }
        RDKafkaCallbacks.install(on: conf, context: context, kind: kind)
    }

    /// Hands ownership of the configuration to the caller (`rd_kafka_new` takes it on success).
    func release() -> OpaquePointer {
        let released = conf!
        conf = nil
        return released
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    /// Decodes a NUL-terminated C error buffer filled by librdkafka.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
