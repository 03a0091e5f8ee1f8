import LienThongKafka
import LienThongTestSupport
import LienThongWorker
import Testing

/// The next batch, or nil after `timeout`.
func nextBatch(_ consumer: KafkaConsumer, timeout: Duration) async -> [KafkaMessage]? {
    await withTaskGroup(of: [KafkaMessage]?.self) { group in
        group.addTask {
            var iterator = consumer.batches.makeAsyncIterator()
            return await iterator.next()
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Reads batches until `count` messages arrived or `timeout` passed.
func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    let deadline = ContinuousClock.now + timeout
    while messages.count < count, ContinuousClock.now < deadline {
        if let batch = await nextBatch(consumer, timeout: deadline - .now) { messages += batch }
    }
    return messages
}

/// Produces records 0..<total (value the number, key `k` and the number modulo ten) and requires every delivery.
func sendNumberedRecords(_ total: Int, to topic: String, with producer: KafkaProducer) async throws {
    for result in await producer.send(
        (0..<total).map { KafkaProducerMessage(topic: topic, key: "k\($0 % 10)", value: "\($0)") })
    {
        _ = try result.get()
    }
}

/// Waits until `condition` holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

extension Array where Element == KafkaMessage {
    /// The next offset to store per partition for these messages.
    var nextOffsets: [KafkaTopicPartition: Int64] {
        reduce(into: [:]) { offsets, message in
            offsets[message.topicPartition] = Swift.max(offsets[message.topicPartition] ?? 0, message.nextOffset)
        }
    }
}

extension KafkaMessage {
    var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

/// Creates the seven outbound topics under this run's unique names and returns them.
func createOutboundTopics(_ kafka: TestKafka, partitions: Int32 = 1) async throws -> OutboundTopics {
    var topics = OutboundTopics()
    topics.status = try await kafka.createTopic("dossier.status", partitions: partitions)
    topics.deadLetter = try await kafka.createTopic("dossier.events.dlq", partitions: 1)
    topics.triage = try await kafka.createTopic("dossier.triage", partitions: 1)
    topics.portalSync = try await kafka.createTopic("portal.sync", partitions: partitions)
    topics.communeWork = try await kafka.createTopic("dossier.work.commune", partitions: partitions)
    topics.departmentWork = try await kafka.createTopic("dossier.work.department", partitions: partitions)
    topics.ministryWork = try await kafka.createTopic("dossier.work.ministry", partitions: partitions)
    return topics
}
