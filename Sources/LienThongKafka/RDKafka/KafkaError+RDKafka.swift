internal import CRdKafka

extension KafkaError {
    /// Maps a librdkafka response code to a ``KafkaError``.
    init(
        code: Code,
        responseError: rd_kafka_resp_err_t,
        reason: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.init(
            code: code,
            reason: reason ?? String(cString: rd_kafka_err2str(responseError)),
            librdkafkaCode: responseError.rawValue,
            librdkafkaName: String(cString: rd_kafka_err2name(responseError)),
            isRetriable: Self.retriableCodes.contains(responseError),
            isFatal: responseError == RD_KAFKA_RESP_ERR__FATAL,
            file: file,
            line: line
        )
    }

    /// Errors after which the same request may succeed; the rest are permanent for that request.
    private static let retriableCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ]
}
