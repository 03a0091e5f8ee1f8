internal import CRdKafka
public import Logging

/// Creates topics on real brokers with the admin API (CreateTopics).
///
/// librdkafka 2.0.2's embedded broker does not serve CreateTopics: use
/// ``EmbeddedKafkaCluster/createTopic(_:partitions:replicationFactor:)`` there.
public final class KafkaTopicAdministrator: Sendable {
    private let client: RDKafkaClient
    private let context: RDKafkaCallbackContext
    private let blockingCalls = BlockingCallQueue(label: "lienthong.kafka.admin.blocking")

    /// Creates an administrator client.
    /// - Parameter properties: librdkafka properties (security settings), besides the brokers.
    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws(KafkaError) {
        let context = RDKafkaCallbackContext(
            statistics: { _ in }, error: { _, _, _ in },
            log: RDKafkaCallbackContext.log(to: logger))
        let conf = try RDKafkaConfig(
            properties: [("bootstrap.servers", bootstrapServers)]
                + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        conf.install(context: context, kind: .producer)
        client = try RDKafkaClient.make(kind: .producer, configuration: conf)
        self.context = context
    }

    deinit {
        client.destroy()
    }

    /// Creates a topic; an existing topic is not an error.
    /// - Throws: ``KafkaError`` `.broker` with the broker's reason, `.timedOut` without an answer.
    public func createTopic(
        _ name: String,
        partitions: Int32,
        replicationFactor: Int32 = -1,
        timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        let client = client
        try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    try Self.createTopic(handle, name, partitions, replicationFactor, Int32(timeout.milliseconds))
                }
            }
        }
    }

    private static func createTopic(
        _ handle: OpaquePointer, _ name: String, _ partitions: Int32, _ replicationFactor: Int32,
        _ timeoutMilliseconds: Int32
    ) throws(KafkaError) {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let topic = rd_kafka_NewTopic_new(name, partitions, replicationFactor, &errorBuffer, errorBuffer.count)
        else {
            throw KafkaError(code: .broker, reason: String(errorBuffer: errorBuffer))
        }
        defer { rd_kafka_NewTopic_destroy(topic) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [topic]
        rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds) else {
            throw KafkaError(code: .timedOut, reason: "no CreateTopics answer")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .broker, responseError: eventError)
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
        for index in 0..<count {
            let error = rd_kafka_topic_result_error(results[index])
            if error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                throw KafkaError(code: .broker, responseError: error)
            }
        }
    }
}
