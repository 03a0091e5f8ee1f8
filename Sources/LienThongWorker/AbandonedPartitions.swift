import LienThongKafka
import Synchronization

/// Partitions, per assignment generation, whose records a lane gave up writing (the worker is closing or the
/// partition was revoked): their later records are not written either, so no stored position passes a record that
/// was not written. The next owner, or this worker's next assignment, reads them again from the stored position.
///
/// Only the newest generation is kept: a record of an older one is no longer owned (``KafkaConsumer/owns(_:)``),
/// so it is skipped whether or not it is listed here, and the set does not grow with every rebalance.
final class AbandonedPartitions: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var partitions: Set<KafkaTopicPartition> = []
    }

    private let state = Mutex(State())

    func insert(_ messages: [KafkaMessage]) {
        state.withLock { state in
            for message in messages where message.assignmentGeneration >= state.generation {
                if message.assignmentGeneration > state.generation {
                    state = State(generation: message.assignmentGeneration)
                }
                state.partitions.insert(message.topicPartition)
            }
        }
    }

    func contains(_ message: KafkaMessage) -> Bool {
        state.withLock { state in
            !state.partitions.isEmpty && message.assignmentGeneration == state.generation
                && state.partitions.contains(message.topicPartition)
        }
    }

    /// The partitions listed (of the newest generation).
    var count: Int {
        state.withLock { $0.partitions.count }
    }
}
