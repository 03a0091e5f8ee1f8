import Foundation
public import LienThongKafka
public import Logging

/// The Kafka cluster an integration test uses: an embedded 3-broker cluster of its own, or the real brokers
/// named by `LIENTHONG_TEST_KAFKA_BROKERS` (then topic and group names get a per-run suffix so runs never
/// collide, and fault-injection tests are skipped).
public final class TestKafka: Sendable {
    /// The bootstrap list.
    public let bootstrapServers: String
    /// The embedded cluster, for fault injection; nil against real brokers.
    public let embedded: EmbeddedKafkaCluster?
    /// A suffix unique to this instance.
    public let runID: String
    private let administrator: KafkaTopicAdministrator?

    /// Whether tests run against real brokers.
    public static var usesRealBrokers: Bool {
        !(ProcessInfo.processInfo.environment["LIENTHONG_TEST_KAFKA_BROKERS"] ?? "").isEmpty
    }

    /// Starts an embedded cluster of `brokers`, or connects to the real one.
    public init(brokers: Int = 3, logger: Logger = Logger(label: "lienthong.test")) throws {
        runID = String(UUID().uuidString.prefix(8)).lowercased()
        if let real = ProcessInfo.processInfo.environment["LIENTHONG_TEST_KAFKA_BROKERS"], !real.isEmpty {
            bootstrapServers = real
            embedded = nil
            administrator = try KafkaTopicAdministrator(bootstrapServers: real, logger: logger)
        } else {
            let cluster = try EmbeddedKafkaCluster(brokers: brokers, logger: logger)
            bootstrapServers = cluster.bootstrapServers
            embedded = cluster
            administrator = nil
        }
    }

    /// The port an embedded broker listens on, on 127.0.0.1 (tests that need a port already taken); nil against
    /// real brokers.
    public var embeddedBrokerPort: Int? {
        guard embedded != nil else { return nil }
        return bootstrapServers.split(separator: ",").first?.split(separator: ":").last.flatMap { Int($0) }
    }

    /// `base` made unique to this run (topic and group names).
    public func uniqueName(_ base: String) -> String {
        "\(base)-\(runID)"
    }

    /// Creates a topic with exactly `partitions` partitions and returns its (unique) name.
    @discardableResult
    public func createTopic(_ base: String, partitions: Int32) async throws -> String {
        let name = uniqueName(base)
        if let embedded {
            try embedded.createTopic(name, partitions: partitions, replicationFactor: 1)
        } else {
            try await administrator?.createTopic(name, partitions: partitions)
        }
        return name
    }

    /// A consumer configuration for a group unique to this run, tuned for fast tests on the embedded broker
    /// (a 6 s session timeout: its rebalances wait `session.timeout.ms` − 1 s).
    public func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: uniqueName(group))
        configuration.sessionTimeout = .seconds(6)
        configuration.properties["heartbeat.interval.ms"] = "500"
        return configuration
    }

    /// A producer configuration.
    public func producerConfiguration() -> KafkaProducerConfiguration {
        KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
    }

    /// Stops the embedded cluster.
    public func close() {
        embedded?.close()
    }
}
