import Foundation
import LienThongKafka
import LienThongTestSupport
import Logging
import Synchronization
import Testing

@Suite("Kafka clients against the embedded broker")
struct KafkaClientTests {
    let logger = Logger(label: "lienthong.test")

    @Test func roundTripKeepsKeysHeadersNullKeysAndTombstones() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("round-trip", partitions: 1)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        let sent = [
            KafkaProducerMessage(
                topic: topic, key: "000.00.12.H56-250701-0001", value: #"{"type":"received"}"#,
                headers: [KafkaHeader(name: "event-id", string: "e1"), KafkaHeader(name: "empty", value: nil)]),
            KafkaProducerMessage(topic: topic, key: nil, value: "no key"),
            KafkaProducerMessage(topic: topic, key: "000.00.12.H56-250701-0001", value: nil),
            KafkaProducerMessage(topic: topic, key: [], value: []),
            KafkaProducerMessage(
                topic: topic, key: "", value: Array("bytes".utf8), headers: [KafkaHeader(name: "blank", string: "")]),
        ]
        let reports = try await producer.send(sent).map { try $0.get() }
        #expect(reports.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(reports.allSatisfy { $0.topicPartition == KafkaTopicPartition(topic: topic, partition: 0) })

        let consumer = try KafkaConsumer(
            configuration: kafka.consumerConfiguration(group: "round-trip"), logger: logger)
        try consumer.subscribe(topics: [topic])
        let beforeConsume = Int64(Date().timeIntervalSince1970 * 1000)
        let received = await collect(consumer, count: 5)
        let afterConsume = Int64(Date().timeIntervalSince1970 * 1000)
        try #require(received.count == 5)
        for message in received {
            let consumedAt = try #require(message.consumedAtMilliseconds, "each record says when its poll returned it")
            #expect((beforeConsume...afterConsume).contains(consumedAt))
        }
        #expect(received[0].key == Array("000.00.12.H56-250701-0001".utf8))
        #expect(received[0].header("event-id") == Array("e1".utf8))
        #expect(
            received[0].headers == [
                KafkaHeader(name: "event-id", string: "e1"), KafkaHeader(name: "empty", value: nil),
            ])
        #expect(received[0].timestamp?.kind == .createTime)
        #expect(received[1].key == nil && received[1].valueText == "no key")
        #expect(received[2].value == nil, "a tombstone arrives as a nil value")
        #expect(received[3].key == [] && received[3].value == [])
        #expect(received[4].key == [] && received[4].value == Array("bytes".utf8))
        #expect(received[4].headers == [KafkaHeader(name: "blank", value: [])], "an empty string is not a null")
        await consumer.close()
        await producer.close()
    }

    /// Each result is its own record's, whether librdkafka refused the record at once (too large) or its
    /// delivery report failed later (no broker within the delivery timeout).
    @Test(.enabled(if: !TestKafka.usesRealBrokers, "fault injection needs the embedded broker"))
    func eachResultIsItsRecordsWhenSomeFail() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let cluster = try #require(kafka.embedded)
        let topic = try await kafka.createTopic("partly-failing", partitions: 1)
        var configuration = kafka.producerConfiguration()
        configuration.deliveryTimeout = .seconds(5)
        configuration.properties["message.max.bytes"] = "2000"
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        _ = try await producer.partitionCount(of: topic)  // no wait for the topic's first lookup
        let tooLarge = [UInt8](repeating: 0x61, count: 5000)
        let mixed = await producer.send([
            KafkaProducerMessage(topic: topic, key: "k", value: "first"),
            KafkaProducerMessage(topic: topic, key: "k", value: tooLarge),
            KafkaProducerMessage(topic: topic, key: "k", value: "third"),
        ])
        #expect(try mixed[0].get().offset == 0)
        #expect(throws: KafkaError.self) { try mixed[1].get() }
        #expect(try mixed[2].get().offset == 1)

        for broker: Int32 in 1...3 { try cluster.setBrokerDown(broker) }
        let unconfirmed = await producer.send([
            KafkaProducerMessage(topic: topic, key: "k", value: "while down"),
            KafkaProducerMessage(topic: topic, key: "k", value: tooLarge),
        ])
        for result in unconfirmed {
            guard case .failure(let error) = result else {
                Issue.record("no broker, yet \(result)")
                continue
            }
            #expect(error.code == .delivery || error.code == .produce)
        }
        for broker: Int32 in 1...3 { try cluster.setBrokerUp(broker) }
        await producer.close()
    }

    @Test func storedOffsetsSurviveAConsumerRestart() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("restart", partitions: 1)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        _ = await producer.send((0..<100).map { KafkaProducerMessage(topic: topic, key: "k", value: "\($0)") })

        var configuration = kafka.consumerConfiguration(group: "restart")
        configuration.maxBatchSize = 10
        let first = try KafkaConsumer(configuration: configuration, logger: logger)
        try first.subscribe(topics: [topic])
        let processed = await collect(first, count: 30)
        try #require(processed.count >= 30)
        try first.storeOffset(after: processed[29])
        try await first.commit()
        await first.close()

        let second = try KafkaConsumer(configuration: configuration, logger: logger)
        try second.subscribe(topics: [topic])
        let resumed = await collect(second, count: 70)
        #expect(resumed.first?.offset == 30)
        #expect(resumed.map(\.offset) == Array(30..<100))
        await second.close()
        await producer.close()
    }

    @Test func aPausedPartitionDeliversNothingUntilResumed() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("pause", partitions: 1)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        _ = await producer.send((0..<10).map { KafkaProducerMessage(topic: topic, key: "k", value: "\($0)") })
        let consumer = try KafkaConsumer(configuration: kafka.consumerConfiguration(group: "pause"), logger: logger)
        try consumer.subscribe(topics: [topic])
        #expect(await collect(consumer, count: 10).count == 10)

        try consumer.pause([partition])
        _ = await producer.send((10..<20).map { KafkaProducerMessage(topic: topic, key: "k", value: "\($0)") })
        #expect(await nextBatch(consumer, timeout: .seconds(2)) == nil)

        try consumer.resume([partition])
        let resumed = await collect(consumer, count: 10)
        #expect(resumed.map(\.offset) == Array(10..<20))
        await consumer.close()
        await producer.close()
    }

    @Test func seekRewindsAPartition() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("seek", partitions: 1)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        _ = await producer.send((0..<20).map { KafkaProducerMessage(topic: topic, key: "k", value: "\($0)") })
        let consumer = try KafkaConsumer(configuration: kafka.consumerConfiguration(group: "seek"), logger: logger)
        try consumer.subscribe(topics: [topic])
        #expect(await collect(consumer, count: 20).count == 20)
        try await consumer.seek(KafkaTopicPartition(topic: topic, partition: 0), to: 5)
        let again = await collect(consumer, count: 15)
        #expect(again.map(\.offset) == Array(5..<20))
        await consumer.close()
        await producer.close()
    }

    @Test func theRebalanceHandlerSuppliesStartingOffsets() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("external-offsets", partitions: 2)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        for partition in Int32(0)..<2 {
            _ = await producer.send(
                (0..<10).map {
                    KafkaProducerMessage(topic: topic, partition: partition, key: nil, value: Array("\($0)".utf8))
                })
        }
        // As if PostgreSQL said partition 0 is done up to offset 7 and partition 1 up to 3.
        let stored: [KafkaTopicPartition: Int64] = [
            .init(topic: topic, partition: 0): 7, .init(topic: topic, partition: 1): 3,
        ]
        let consumer = try KafkaConsumer(
            configuration: kafka.consumerConfiguration(group: "external-offsets"),
            rebalanceHandler: KafkaRebalanceHandler(willAssign: { partitions in
                stored.filter { partitions.contains($0.key) }
            }),
            logger: logger)
        try consumer.subscribe(topics: [topic])
        let received = await collect(consumer, count: 10)
        let byPartition = Dictionary(grouping: received, by: \.partition).mapValues { $0.map(\.offset) }
        #expect(byPartition[0] == [7, 8, 9])
        #expect(byPartition[1] == Array(3..<10))
        await consumer.close()
        await producer.close()
    }

    @Test func aTinyBufferPausesFetchingWithoutLosingOrReorderingMessages() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let total = 2000
        let (producer, consumer) = try await tinyBufferConsumer(
            kafka, name: "flow", records: total, hold: .zero,
            properties: ["fetch.wait.max.ms": "10", "fetch.error.backoff.ms": "10"])
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while received.count < total, ContinuousClock.now < deadline {
            guard let batch = await nextBatch(consumer, timeout: .seconds(10)) else { continue }
            received += batch
            try await Task.sleep(for: .milliseconds(2))  // a reader slower than the fetcher
        }
        #expect(received.count == total)
        for (_, messages) in Dictionary(grouping: received, by: \.partition) {
            #expect(
                messages.map(\.offset) == Array(0..<Int64(messages.count)), "each partition in order, no gap, no repeat"
            )
        }
        await consumer.close()
        await producer.close()
    }

    /// A two-partition topic named after `name` holding `total` numbered records, and a consumer of it (group
    /// `name`) whose buffer holds 100 records in batches of 50 and, full, holds off polling for `hold`;
    /// `properties` are added to its configuration.
    private func tinyBufferConsumer(
        _ kafka: TestKafka, name: String, records total: Int, hold: Duration, properties: [String: String] = [:]
    ) async throws -> (producer: KafkaProducer, consumer: KafkaConsumer) {
        let topic = try await kafka.createTopic(name, partitions: 2)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        try await sendNumberedRecords(total, to: topic, with: producer)
        var configuration = kafka.consumerConfiguration(group: name)
        configuration.maxBatchSize = 50
        configuration.maxBufferedMessages = 100
        configuration.fullBufferHold = hold
        configuration.properties.merge(properties) { $1 }
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [topic])
        return (producer, consumer)
    }

    /// With no reader the buffer fills and stays full past the hold: the flow control pauses the partitions that
    /// delivered (both here), and resumes them once a reader has drained it to half.
    @Test func aBufferFullPastTheHoldPausesTheDeliveringPartitionsAndADrainedOneResumesThem() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let total = 1000
        let (producer, consumer) = try await tinyBufferConsumer(
            kafka, name: "paused-by-flow", records: total, hold: .milliseconds(200))
        #expect(
            await eventually {
                consumer.assignment.count == 2 && consumer.partitionsPausedByFlowControl == consumer.assignment
            }, "both partitions delivered and are paused")
        var received = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while received < total, ContinuousClock.now < deadline {
            received += await nextBatch(consumer, timeout: .seconds(10))?.count ?? 0
        }
        #expect(received == total)
        #expect(await eventually { consumer.partitionsPausedByFlowControl.isEmpty }, "resumed once drained")
        await consumer.close()
        await producer.close()
    }

    /// A full buffer first holds off polling instead of pausing: librdkafka keeps what it prefetched, so as a
    /// reader drains the buffer every record arrives in order, and each was fetched from the broker once (a pause
    /// drops librdkafka's prefetch, fetched again after the resume).
    @Test func aFullBufferHoldsOffPollingAndNoRecordIsFetchedTwice() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let total = 1000
        let (producer, consumer) = try await tinyBufferConsumer(
            kafka, name: "held-by-flow", records: total, hold: .seconds(60),
            properties: ["statistics.interval.ms": "100"])
        #expect(await eventually { consumer.isHoldingPolls }, "the buffer filled")
        try await Task.sleep(for: .milliseconds(500))
        #expect(consumer.isHoldingPolls, "still holding")
        #expect(consumer.partitionsPausedByFlowControl.isEmpty, "nothing paused")
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while received.count < total, ContinuousClock.now < deadline {
            received += await nextBatch(consumer, timeout: .seconds(10)) ?? []
        }
        #expect(received.count == total)
        for (_, messages) in Dictionary(grouping: received, by: \.partition) {
            #expect(messages.map(\.offset) == Array(0..<Int64(messages.count)), "in order, no gap, no repeat")
        }
        let fetched = { () -> Int? in
            guard let json = consumer.latestStatistics,
                let document = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            else { return nil }
            return document["rxmsgs"] as? Int
        }
        #expect(await eventually { fetched() == total }, "fetched \(fetched() ?? -1) records for \(total)")
        await consumer.close()
        await producer.close()
    }

    @Test func statisticsAreExposed() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("stats", partitions: 1)
        var configuration = kafka.consumerConfiguration(group: "stats")
        configuration.statisticsInterval = .seconds(1)
        let statistics = Mutex<[String]>([])
        let consumer = try KafkaConsumer(
            configuration: configuration,
            eventHandler: { event in if case .statistics(let json) = event { statistics.withLock { $0.append(json) } }
            },
            logger: logger)
        try consumer.subscribe(topics: [topic])
        #expect(await eventually { consumer.latestStatistics != nil })
        let document =
            try JSONSerialization.jsonObject(with: Data(try #require(consumer.latestStatistics).utf8)) as? [String: Any]
        #expect(document?["type"] as? String == "consumer")
        #expect(!statistics.withLock { $0.isEmpty })
        await consumer.close()
    }

    @Test func aProducerLooksUpATopicsPartitions() async throws {
        let kafka = try TestKafka()
        defer { kafka.close() }
        let topic = try await kafka.createTopic("looked-up", partitions: 3)
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(), logger: logger)
        #expect(try await producer.partitionCount(of: topic) == 3)
        await producer.close()
    }

    /// (The embedded broker creates any topic it is asked about, so an unknown topic cannot be shown here.)
    @Test func aTopicLookupWithoutABrokerFailsAsMetadata() async throws {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1"), logger: logger)
        let error = await #expect(throws: KafkaError.self) {
            try await producer.partitionCount(of: "dossier.status", timeout: .milliseconds(500))
        }
        #expect(error?.code == .metadata)
        #expect(error?.isRetriable == true)
        await producer.close(timeout: .seconds(1))
    }

    @Test func anUnknownPropertyFailsWithItsName() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g")
        configuration.properties["no.such.property"] = "1"
        let error = try #require(throws: KafkaError.self) {
            try KafkaConsumer(configuration: configuration, logger: logger)
        }
        #expect(error.code == .invalidConfiguration)
        #expect(error.property == "no.such.property")

        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        producerConfiguration.properties["linger.ms"] = "not-a-number"
        let invalid = try #require(throws: KafkaError.self) {
            try KafkaProducer(configuration: producerConfiguration, logger: logger)
        }
        #expect(invalid.property == "linger.ms")
    }
}
