import Logging
import Testing

@testable import LienThongKafka

@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    private func properties(_ configuration: KafkaConsumerConfiguration) throws -> [String: String] {
        Dictionary(try configuration.librdkafkaProperties().map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
    }

    @Test func consumerSafeDefaultsAreSetExplicitly() throws {
        let effective = try properties(KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "workers"))
        #expect(effective["enable.auto.offset.store"] == "false")
        #expect(effective["auto.offset.reset"] == "earliest")
        #expect(effective["partition.assignment.strategy"] == "range")
        #expect(effective["enable.partition.eof"] == "false")
        #expect(effective["group.id"] == "workers")
        #expect(effective["session.timeout.ms"] == "45000")
        #expect(effective["enable.auto.commit"] == "true")
        #expect(effective["auto.commit.interval.ms"] == "5000")
    }

    @Test func producerSafeDefaultsAreSetExplicitly() {
        let effective = Dictionary(
            KafkaProducerConfiguration(bootstrapServers: "b:9092").librdkafkaProperties().map { ($0.name, $0.value) },
            uniquingKeysWith: { $1 })
        #expect(effective["enable.idempotence"] == "true")
        #expect(effective["acks"] == "all")
        #expect(effective["linger.ms"] == "5")
    }

    @Test func passthroughPropertiesComeLastAndOverrideTypedDefaults() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "g")
        configuration.properties["auto.offset.reset"] = "latest"
        configuration.properties["fetch.wait.max.ms"] = "50"
        let ordered = try configuration.librdkafkaProperties()
        #expect(ordered.last(where: { $0.name == "auto.offset.reset" })?.value == "latest")
        #expect(try properties(configuration)["fetch.wait.max.ms"] == "50")
    }

    @Test(arguments: ["cooperative-sticky", "range,cooperative-sticky"])
    func cooperativeStickyIsRefusedOnThisLibrdkafka(strategy: String) {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "g")
        configuration.properties["partition.assignment.strategy"] = strategy
        let error = #expect(throws: KafkaError.self) { try configuration.librdkafkaProperties() }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.property == "partition.assignment.strategy")
    }

    @Test func librdkafkasCriticalLinesAreCriticalAndTheRestDebugOrTrace() {
        #expect(
            (0...7).map { RDKafkaCallbackContext.logLevel(syslogLevel: Int32($0)) } == [
                .critical, .critical, .critical, .debug, .debug, .debug, .debug, .trace,
            ])
    }

    @Test func batchLimitsAreValidated() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "g")
        configuration.maxBatchSize = 0
        #expect(throws: KafkaError.self) { try configuration.librdkafkaProperties() }
        configuration.maxBatchSize = 100
        configuration.maxBufferedMessages = 10
        let error = #expect(throws: KafkaError.self) { try configuration.librdkafkaProperties() }
        #expect(error?.property == "maxBufferedMessages")
    }

    @Test(arguments: [Duration.milliseconds(-1), .seconds(300), .seconds(301)])
    func aHoldOutsideZeroToTheMaxPollIntervalIsRefused(hold: Duration) {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "g")
        configuration.fullBufferHold = hold
        let error = #expect(throws: KafkaError.self) { try configuration.librdkafkaProperties() }
        #expect(error?.property == "fullBufferHold")
        configuration.fullBufferHold = .zero
        #expect(throws: Never.self) { try configuration.librdkafkaProperties() }
    }

    @Test func aConfigurationErrorNamesThePropertyButNeverItsValue() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "b:9092")
        configuration.properties["security.protocol"] = "s3cret-canary"
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: configuration, logger: .init(label: "t"))
        }
        #expect(error?.property == "security.protocol")
        #expect(error?.description.contains("s3cret-canary") == false)
        #expect(error?.description.contains("(redacted)") == true)
    }

    @Test func durationsBecomeWholeMilliseconds() {
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.seconds(45).milliseconds == 45_000)
        #expect(Duration.microseconds(999).milliseconds == 0)
    }
}
