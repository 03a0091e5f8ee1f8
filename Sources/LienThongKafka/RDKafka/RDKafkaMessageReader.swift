internal import CRdKafka
import Glibc

/// Copies consumed `rd_kafka_message_t`s into ``KafkaMessage`` values.
///
/// Confined to the consumer's poll thread: it caches topic names per librdkafka topic handle, which live as long
/// as the client.
struct RDKafkaMessageReader {
    private var topicNames: [OpaquePointer: String] = [:]

    mutating func read(_ message: UnsafePointer<rd_kafka_message_t>, generation: UInt64) -> KafkaMessage {
        let raw = message.pointee
        let topic: String
        if let handle = raw.rkt, let cached = topicNames[handle] {
            topic = cached
        } else {
            topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            if let handle = raw.rkt { topicNames[handle] = topic }
        }
        // A null payload or key is a tombstone or null key: nil, never a crash.
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        let timestamp: KafkaTimestamp? =
            switch timestampType {
            case RD_KAFKA_TIMESTAMP_CREATE_TIME: KafkaTimestamp(milliseconds: milliseconds, kind: .createTime)
            case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME: KafkaTimestamp(milliseconds: milliseconds, kind: .logAppendTime)
            default: nil
            }
        var result = KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: topic, partition: raw.partition),
            offset: raw.offset,
            key: key,
            value: value,
            headers: Self.headers(of: message),
            timestamp: timestamp
        )
        result.assignmentGeneration = generation
        result.consumedAtMilliseconds = Self.wallClockMilliseconds()
        return result
    }

    private static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private static func headers(of message: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else {
            return []
        }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(
                KafkaHeader(
                    name: name.map { String(cString: $0) } ?? "",
                    value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                ))
            index += 1
        }
        return result
    }
}
