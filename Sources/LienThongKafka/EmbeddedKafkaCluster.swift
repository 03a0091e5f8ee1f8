internal import CRdKafka
public import Logging
import Synchronization

/// An in-process Kafka cluster: librdkafka's mock brokers listening on loopback TCP ports, speaking the Kafka
/// protocol (produce, fetch, consumer groups, offset commits, idempotent producers), with fault injection.
///
/// Other clients and processes connect through ``bootstrapServers`` for as long as this object lives.
///
/// Known limits of librdkafka 2.0.2's mock: a partition keeps at most 5 MiB or 100,000 messages and silently
/// drops older data; admin CreateTopics is not served (use ``createTopic(_:partitions:replicationFactor:)``);
/// the first group join waits about 3 s and a membership change `session.timeout.ms` − 1 s; `read_committed`
/// and static-membership fencing are not modelled.
public final class EmbeddedKafkaCluster: Sendable {
    /// The `host:port,…` list clients bootstrap from.
    public let bootstrapServers: String
    /// The broker ids, 1 through the broker count.
    public let brokerIDs: [Int32]

    private let owner: RDKafkaClient
    private let context: RDKafkaCallbackContext
    private let cluster: Mutex<SendableOpaquePointer?>

    /// Starts `brokers` mock brokers on 127.0.0.1.
    /// - Throws: ``KafkaError`` `.embeddedBroker` if librdkafka cannot start them.
    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        let context = RDKafkaCallbackContext(
            statistics: { _ in },
            error: { _, _, _ in },
            log: RDKafkaCallbackContext.log(to: logger)
        )
        let conf = try RDKafkaConfig(properties: [])
        conf.install(context: context, kind: .producer)
        let owner = try RDKafkaClient.make(kind: .producer, configuration: conf)
        let cluster = try owner.withHandle { handle throws(KafkaError) in
            guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
                throw KafkaError(code: .embeddedBroker, reason: "rd_kafka_mock_cluster_new failed")
            }
            return cluster
        }
        self.owner = owner
        self.context = context
        self.cluster = Mutex(SendableOpaquePointer(pointer: cluster))
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerIDs = (1...Int32(brokers)).map { $0 }
    }

    deinit {
        close()
    }

    /// Creates a topic with exactly `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            let error = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .embeddedBroker, responseError: error)
            }
        }
    }

    /// Takes a broker down: its connections close and it refuses new ones (leaders do not move).
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in try check(rd_kafka_mock_broker_set_down(cluster, brokerID)) }
    }

    /// Brings a broker back up.
    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in try check(rd_kafka_mock_broker_set_up(cluster, brokerID)) }
    }

    /// Adds `delay` to every response of a broker.
    public func setRoundTripTime(_ delay: Duration, broker brokerID: Int32) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            try check(rd_kafka_mock_broker_set_rtt(cluster, brokerID, Int32(delay.milliseconds)))
        }
    }

    /// Makes the next `errors.count` requests of `request` type fail, one error each, in order.
    public func injectErrors(_ errors: [KafkaResponseCode], into request: KafkaRequestType) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in
            let codes = errors.map { rd_kafka_resp_err_t($0.rawValue) }
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, buffer.count, buffer.baseAddress)
            }
        }
    }

    /// Removes injected errors not yet consumed for `request`.
    public func clearInjectedErrors(for request: KafkaRequestType) throws(KafkaError) {
        try withCluster { cluster throws(KafkaError) in rd_kafka_mock_clear_request_errors(cluster, request.rawValue) }
    }

    /// Stops the brokers. Idempotent; clients still connected see transport errors.
    public func close() {
        guard
            let cluster = cluster.withLock({ state -> SendableOpaquePointer? in
                defer { state = nil }
                return state
            })
        else { return }
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        owner.destroy()
    }

    private func withCluster<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        // Holding the lock keeps `close()` from destroying the cluster under the call; calls are short.
        try cluster.withLock { state throws(KafkaError) -> T in
            guard let cluster = state else { throw KafkaError(code: .closed, reason: "the embedded cluster is closed") }
            return try body(cluster.pointer)
        }
    }
}

private func check(_ error: rd_kafka_resp_err_t) throws(KafkaError) {
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code: .embeddedBroker, responseError: error) }
}

/// A Kafka protocol request type (its ApiKey), for error injection.
public struct KafkaRequestType: Hashable, Sendable {
    /// The protocol ApiKey.
    public let rawValue: Int16

    /// Creates a request type from its ApiKey.
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaRequestType(rawValue: 0)
    public static let fetch = KafkaRequestType(rawValue: 1)
    public static let listOffsets = KafkaRequestType(rawValue: 2)
    public static let metadata = KafkaRequestType(rawValue: 3)
    public static let offsetCommit = KafkaRequestType(rawValue: 8)
    public static let offsetFetch = KafkaRequestType(rawValue: 9)
    public static let findCoordinator = KafkaRequestType(rawValue: 10)
    public static let joinGroup = KafkaRequestType(rawValue: 11)
    public static let heartbeat = KafkaRequestType(rawValue: 12)
    public static let syncGroup = KafkaRequestType(rawValue: 14)
    public static let initProducerID = KafkaRequestType(rawValue: 22)
}

/// A Kafka protocol error code (or a librdkafka local code, which is negative), for error injection.
public struct KafkaResponseCode: Hashable, Sendable {
    /// The numeric code.
    public let rawValue: Int32

    /// Creates a code from its number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// librdkafka's local transport failure: the connection drops.
    public static let transport = KafkaResponseCode(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
    public static let leaderNotAvailable = KafkaResponseCode(rawValue: RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue)
    public static let notLeaderForPartition = KafkaResponseCode(
        rawValue: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue)
    public static let requestTimedOut = KafkaResponseCode(rawValue: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)
    public static let coordinatorNotAvailable = KafkaResponseCode(
        rawValue: RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue)
    public static let notCoordinator = KafkaResponseCode(rawValue: RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue)
    public static let notEnoughReplicas = KafkaResponseCode(rawValue: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue)
    public static let rebalanceInProgress = KafkaResponseCode(
        rawValue: RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue)
}
