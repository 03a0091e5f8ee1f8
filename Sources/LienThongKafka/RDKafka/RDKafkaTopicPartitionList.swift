internal import CRdKafka

/// A view over an `rd_kafka_topic_partition_list_t`, either borrowed from a callback or created and freed by
/// ``withNew(_:_:)``.
struct RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(borrowing pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
    }

    /// Creates a list of `entries` (offset `RD_KAFKA_OFFSET_INVALID` where nil), runs `body`, frees the list.
    static func withNew<T, E: Error>(
        _ entries: some Collection<(KafkaTopicPartition, Int64?)>,
        _ body: (RDKafkaTopicPartitionList) throws(E) -> T
    ) throws(E) -> T {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topicPartition, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)!
            element.pointee.offset = offset ?? Int64(RD_KAFKA_OFFSET_INVALID)
        }
        return try body(RDKafkaTopicPartitionList(borrowing: list))
    }

    var count: Int { Int(pointer.pointee.cnt) }

    /// The entries with their offsets (nil for librdkafka's logical/invalid offsets) and per-entry errors.
    var entries: [(topicPartition: KafkaTopicPartition, offset: Int64?, error: rd_kafka_resp_err_t)] {
        (0..<count).map { index in
            let element = pointer.pointee.elems[index]
            return (
                KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                element.offset >= 0 ? element.offset : nil,
                element.err
            )
        }
    }

    /// Sets the offset of every entry found in `offsets`.
    func setOffsets(_ offsets: [KafkaTopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        for index in 0..<count {
            let element = pointer.pointee.elems.advanced(by: index)
            let key = KafkaTopicPartition(
                topic: String(cString: element.pointee.topic), partition: element.pointee.partition)
            if let offset = offsets[key] { element.pointee.offset = offset }
        }
    }

    /// The first per-entry error, if any.
    var firstError: (KafkaTopicPartition, rd_kafka_resp_err_t)? {
        entries.first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map { ($0.topicPartition, $0.error) }
    }
}
