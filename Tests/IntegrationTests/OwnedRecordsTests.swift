import LienThongKafka
import Testing

@testable import LienThongWorker

@Suite("Records kept by ownership, asked once per run of one partition and generation")
struct OwnedRecordsTests {
    @Test func eachRunIsAskedOnceAndKeepsOrDropsAllItsRecords() {
        // Partition and generation of each record, in batch order: three runs of partition 1, 2, then 1 again.
        let records: [(partition: Int, generation: Int)] = [(1, 3), (1, 3), (2, 3), (2, 3), (2, 3), (1, 3)]
        let owned: Set<Int> = [1]
        var asked: [Int] = []
        let kept = DossierEventWorker.keptIndices(
            count: records.count,
            isSameRun: { records[$0] == records[$1] },
            isKept: { index in
                asked.append(index)
                return owned.contains(records[index].partition)
            })
        #expect(kept == [0, 1, 5])
        #expect(asked == [0, 2, 5], "the first record of each run")
    }

    @Test func recordsShareAnOwnerOnlyWithTheSameTopicPartitionAndGeneration() {
        func message(_ topic: String, _ partition: Int32, generation: UInt64) -> KafkaMessage {
            var message = KafkaMessage(
                topicPartition: KafkaTopicPartition(topic: topic, partition: partition), offset: 0, key: nil,
                value: nil)
            message.assignmentGeneration = generation
            return message
        }
        let messages = [
            message("dossier.events", 1, generation: 3), message("dossier.events", 1, generation: 3),
            message("dossier.events", 2, generation: 3), message("dossier.events", 2, generation: 4),
            message("other", 2, generation: 4),
        ]
        #expect(DossierEventWorker.haveOneOwner(messages, 0, 1))
        #expect(!DossierEventWorker.haveOneOwner(messages, 1, 2), "another partition")
        #expect(!DossierEventWorker.haveOneOwner(messages, 2, 3), "another generation")
        #expect(!DossierEventWorker.haveOneOwner(messages, 3, 4), "another topic")
    }

    @Test func aNewGenerationOfTheSamePartitionStartsARun() {
        let generations = [3, 3, 4, 4]
        let kept = DossierEventWorker.keptIndices(
            count: generations.count, isSameRun: { generations[$0] == generations[$1] },
            isKept: { generations[$0] == 4 })
        #expect(kept == [2, 3])
        #expect(DossierEventWorker.keptIndices(count: 0, isSameRun: { _, _ in true }, isKept: { _ in true }).isEmpty)
    }

    /// Each lane gets the owned records of its partitions in batch order, each beside what it decoded to (the two
    /// must line up: a lane that keeps only some of its records takes the same indices of both).
    @Test func lanesGetTheirPartitionsOwnedRecordsInOrderBesideTheirItems() {
        let partitions: [Int32] = [0, 1, 1, 2, 3, 0, 2, 1, 3, 0]
        let batch = partitions.enumerated().map { offset, partition in
            KafkaMessage(
                topicPartition: KafkaTopicPartition(topic: "dossier.events", partition: partition),
                offset: Int64(offset), key: nil, value: [UInt8(offset)])
        }
        let owned = [0, 1, 2, 4, 5, 7, 8, 9]  // partition 2 (indices 3 and 6) is no longer owned
        let shares = DossierEventWorker.laneShares(of: batch, owned: owned, lanes: 2) { "item \($0.offset)" }
        #expect(shares.map { $0.messages.map(\.offset) } == [[0, 5, 9], [1, 2, 4, 7, 8]])
        for share in shares {
            #expect(share.items == share.messages.map { "item \($0.offset)" })
            #expect(share.messages.allSatisfy { $0.value == [UInt8($0.offset)] })
        }
    }
}
