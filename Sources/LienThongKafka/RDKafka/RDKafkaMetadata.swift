internal import CRdKafka

/// Metadata requests on a client handle (blocking; callers run them on their blocking-call queue).
enum RDKafkaMetadata {
    /// The partition count of `topic`, asked of the cluster. The answer also updates the client's metadata cache.
    /// - Throws: ``KafkaError`` `.metadata` when no broker answers within `timeout` or the topic is unknown.
    static func partitionCount(of topic: String, handle: OpaquePointer, timeout: Duration) throws(KafkaError) -> Int32 {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(code: .metadata, responseError: rd_kafka_last_error())
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: .metadata, responseError: error)
        }
        // librdkafka allocated the metadata; it is ours to free on every path.
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1 else { throw KafkaError(code: .metadata, responseError: error) }
        let described = metadata.pointee.topics[0]
        guard described.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .metadata, responseError: described.err)
        }
        return described.partition_cnt
    }
}
