import LienThongKafka
import Logging
import Testing

@Suite struct KafkaSmoke {
    @Test func roundTrip() async throws {
        let logger = Logger(label: "test")
        let cluster = try EmbeddedKafkaCluster(brokers: 3, logger: logger)
        try cluster.createTopic("t", partitions: 4)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let results = await producer.send((0..<100).map { KafkaProducerMessage(topic: "t", key: "k\($0)", value: "v\($0)") })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        var config = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "g")
        config.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: config, logger: logger)
        try consumer.subscribe(topics: ["t"])
        var count = 0
        for await batch in consumer.batches {
            count += batch.count
            if count >= 100 { break }
        }
        #expect(count == 100)
        await consumer.close()
        await producer.close()
    }
}
