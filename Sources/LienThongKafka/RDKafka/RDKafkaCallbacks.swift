internal import CRdKafka
import Logging

/// What a client wants to hear from librdkafka's callbacks.
///
/// Each closure runs on the thread that serves the callback (the consumer's or producer's poll thread; librdkafka's
/// internal threads for the log callback) and must do O(1) work or work bounded by the caller's own contract.
/// The owner keeps the context alive until after `rd_kafka_destroy`, so the unretained pointer handed to C stays
/// valid for every callback.
final class RDKafkaCallbackContext: Sendable {
    let rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, RDKafkaTopicPartitionList) -> Void)?
    let delivery: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)?
    let offsetCommit: (@Sendable (rd_kafka_resp_err_t) -> Void)?
    let statistics: @Sendable (String) -> Void
    let error: @Sendable (OpaquePointer, rd_kafka_resp_err_t, String) -> Void
    let log: @Sendable (Int32, String, String) -> Void

    init(
        rebalance: (@Sendable (OpaquePointer, rd_kafka_resp_err_t, RDKafkaTopicPartitionList) -> Void)? = nil,
        delivery: (@Sendable (UnsafePointer<rd_kafka_message_t>) -> Void)? = nil,
        offsetCommit: (@Sendable (rd_kafka_resp_err_t) -> Void)? = nil,
        statistics: @escaping @Sendable (String) -> Void,
        error: @escaping @Sendable (OpaquePointer, rd_kafka_resp_err_t, String) -> Void,
        log: @escaping @Sendable (Int32, String, String) -> Void
    ) {
        self.rebalance = rebalance
        self.delivery = delivery
        self.offsetCommit = offsetCommit
        self.statistics = statistics
        self.error = error
        self.log = log
    }

    /// Routes librdkafka's own log lines to `logger`, at ``logLevel(syslogLevel:)``.
    static func log(to logger: Logger) -> @Sendable (Int32, String, String) -> Void {
        { level, facility, message in
            logger.log(
                level: logLevel(syslogLevel: level), "librdkafka",
                metadata: [KafkaLoggingKeys.facility: "\(facility)", KafkaLoggingKeys.error: "\(message)"])
        }
    }

    /// The level of a librdkafka log line of syslog level `syslogLevel`. Its emergency, alert and critical lines
    /// (0–2) are critical: they are reported nowhere else, and the embedded broker's precede its abort (naming the
    /// failed call's error). Its errors, warnings, notices and information (3–6) are debug: its failures of brokers
    /// and requests also reach the error callback, which the clients' users log and count, and the rest is routine
    /// (connects, rebalances, configuration notes). Its debug lines (7, from the `debug` property's contexts) are
    /// trace.
    static func logLevel(syslogLevel: Int32) -> Logger.Level {
        switch syslogLevel {
        case ...2: .critical
        case 7...: .trace
        default: .debug
        }
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbackContext? {
        guard let opaque else { return nil }
        return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Registers the file-private C callbacks below on a configuration.
enum RDKafkaCallbacks {
    static func install(on conf: OpaquePointer, context: RDKafkaCallbackContext, kind: RDKafkaClient.Kind) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_stats_cb(conf, statisticsCallback)
        rd_kafka_conf_set_error_cb(conf, errorCallback)
        rd_kafka_conf_set_log_cb(conf, logCallback)
        if context.rebalance != nil { rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }
        if context.offsetCommit != nil { rd_kafka_conf_set_offset_commit_cb(conf, offsetCommitCallback) }
        if context.delivery != nil { rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback) }
    }
}

private func rebalanceCallback(
    handle: OpaquePointer?,
    error: rd_kafka_resp_err_t,
    partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let partitions, let context = RDKafkaCallbackContext.from(opaque) else { return }
    // The list belongs to librdkafka for the duration of the call; we may change offsets only.
    context.rebalance?(handle, error, RDKafkaTopicPartitionList(borrowing: partitions))
}

private func deliveryCallback(
    handle: OpaquePointer?,
    message: UnsafePointer<rd_kafka_message_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    guard let message, let context = RDKafkaCallbackContext.from(opaque) else { return }
    context.delivery?(message)
}

private func offsetCommitCallback(
    handle: OpaquePointer?,
    error: rd_kafka_resp_err_t,
    offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    opaque: UnsafeMutableRawPointer?
) {
    RDKafkaCallbackContext.from(opaque)?.offsetCommit?(error)
}

private func statisticsCallback(
    handle: OpaquePointer?,
    json: UnsafeMutablePointer<CChar>?,
    length: Int,
    opaque: UnsafeMutableRawPointer?
) -> Int32 {
    guard let json, let context = RDKafkaCallbackContext.from(opaque) else { return 0 }
    let text = UnsafeRawBufferPointer(start: json, count: length)
    context.statistics(String(decoding: text, as: UTF8.self))
    return 0  // librdkafka frees the JSON buffer.
}

private func errorCallback(
    handle: OpaquePointer?, code: Int32, reason: UnsafePointer<CChar>?, opaque: UnsafeMutableRawPointer?
) {
    guard let handle, let context = RDKafkaCallbackContext.from(opaque) else { return }
    context.error(handle, rd_kafka_resp_err_t(code), reason.map { String(cString: $0) } ?? "")
}

private func logCallback(
    handle: OpaquePointer?, level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?
) {
    guard let handle, let context = RDKafkaCallbackContext.from(rd_kafka_opaque(handle)) else { return }
    context.log(level, facility.map { String(cString: $0) } ?? "", message.map { String(cString: $0) } ?? "")
}
