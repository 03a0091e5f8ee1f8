import LienThongKafka
import Testing

@testable import LienThongWorker

@Suite("Abandoned partitions")
struct AbandonedPartitionsTests {
    private func message(partition: Int32, generation: UInt64) -> KafkaMessage {
        var message = KafkaMessage(
            topicPartition: KafkaTopicPartition(topic: "dossier.events", partition: partition), offset: 7, key: nil,
            value: nil)
        message.assignmentGeneration = generation
        return message
    }

    @Test func listsAPartitionForItsGenerationOnly() {
        let abandoned = AbandonedPartitions()
        abandoned.insert([message(partition: 1, generation: 3)])
        #expect(abandoned.contains(message(partition: 1, generation: 3)))
        #expect(!abandoned.contains(message(partition: 2, generation: 3)))
        #expect(!abandoned.contains(message(partition: 1, generation: 4)))
    }

    @Test func aNewerGenerationDropsTheOlderOnes() {
        let abandoned = AbandonedPartitions()
        abandoned.insert([message(partition: 1, generation: 3), message(partition: 2, generation: 3)])
        abandoned.insert([message(partition: 5, generation: 4)])
        #expect(abandoned.count == 1)
        #expect(!abandoned.contains(message(partition: 1, generation: 3)))
        #expect(abandoned.contains(message(partition: 5, generation: 4)))
        // A lane that gives up late on an older generation adds nothing: its records are no longer owned anyway.
        abandoned.insert([message(partition: 6, generation: 2)])
        #expect(abandoned.count == 1)
    }
}
