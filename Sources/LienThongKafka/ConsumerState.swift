import Dispatch
import Synchronization

/// State shared between a consumer's poll thread and the tasks that use it, under one lock.
///
/// Holds the bounded hand-off buffer of batches, the single waiting reader, the assignment, which partitions
/// the application and the flow control paused, whether the poll thread holds off polling, and seek requests for
/// the poll thread.
final class ConsumerState: Sendable {
    struct SeekRequest {
        var topicPartition: KafkaTopicPartition
        var offset: Int64
        var continuation: CheckedContinuation<Result<Void, KafkaError>, Never>
    }

    struct Fields {
        /// The buffer's high watermark, in records.
        let capacity: Int
        var batches: [[KafkaMessage]] = []
        var bufferedCount = 0
        var waiter: CheckedContinuation<[KafkaMessage]?, Never>?
        var isFinished = false
        var isStopRequested = false
        var assigned: Set<KafkaTopicPartition> = []
        /// Incremented at every revocation (eager rebalancing revokes the whole assignment).
        var assignmentGeneration: UInt64 = 0
        var pausedByApplication: Set<KafkaTopicPartition> = []
        var pausedByFlowControl: Set<KafkaTopicPartition> = []
        /// The buffer is full and the poll thread waits on ``holdEnded`` instead of polling.
        var isHoldingPolls = false
        var seekRequests: [SeekRequest] = []
        var latestStatistics: String?

        /// At the high watermark: the poll thread takes no more records (it holds, then pauses).
        var isFull: Bool { bufferedCount >= capacity }
        /// Down to half: the poll thread takes records again.
        var isDrained: Bool { bufferedCount <= capacity / 2 }
        /// The poll thread holds off polling or the flow control holds partitions paused, until ``isDrained``.
        var waitsForDrain: Bool { isHoldingPolls || !pausedByFlowControl.isEmpty }
    }

    let fields: Mutex<Fields>
    /// Signalled to end the poll thread's hold early: the buffer drained to half, or a stop or seek was requested.
    let holdEnded = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        fields = Mutex(Fields(capacity: capacity))
    }

    /// Hands a batch to the reader, or buffers it. Returns the number of buffered messages afterwards.
    func push(_ batch: [KafkaMessage]) -> Int {
        let (waiter, count) = fields.withLock { state -> (CheckedContinuation<[KafkaMessage]?, Never>?, Int) in
            guard !state.isFinished else { return (nil, 0) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, state.bufferedCount)
            }
            state.batches.append(batch)
            state.bufferedCount += batch.count
            return (nil, state.bufferedCount)
        }
        waiter?.resume(returning: batch)
        return count
    }

    /// Takes the oldest batch, waiting for one; nil once finished or when the waiting task is cancelled.
    /// - Parameter onDrained: called (outside the lock) when the buffer falls to half its capacity while the
    ///   flow control holds partitions paused or the poll thread holds off polling.
    func next(onDrained: () -> Void) async -> [KafkaMessage]? {
        enum Taken { case batch([KafkaMessage], wake: Bool), finished, empty }
        let taken = fields.withLock { state -> Taken in
            if !state.batches.isEmpty {
                let batch = state.batches.removeFirst()
                state.bufferedCount -= batch.count
                let wake = state.waitsForDrain && state.isDrained
                return .batch(batch, wake: wake)
            }
            return state.isFinished ? .finished : .empty
        }
        switch taken {
        case .batch(let batch, let wake):
            if wake { onDrained() }
            return batch
        case .finished:
            return nil
        case .empty:
            break
        }
        if fields.withLock({ $0.waitsForDrain }) { onDrained() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = fields.withLock { state -> [KafkaMessage]?? in
                    if !state.batches.isEmpty {
                        let batch = state.batches.removeFirst()
                        state.bufferedCount -= batch.count
                        return .some(batch)
                    }
                    if state.isFinished || Task.isCancelled { return .some(nil) }
                    precondition(state.waiter == nil, "KafkaMessageBatches supports one reader at a time")
                    state.waiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            fields.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume(returning: nil)
        }
    }

    /// Drops buffered messages of `partitions` (revoked or sought): they were neither processed nor stored.
    func discard(_ partitions: Set<KafkaTopicPartition>) {
        guard !partitions.isEmpty else { return }
        fields.withLock { state in
            var remaining: [[KafkaMessage]] = []
            var count = 0
            for batch in state.batches {
                let kept = batch.filter { !partitions.contains($0.topicPartition) }
                if !kept.isEmpty {
                    remaining.append(kept)
                    count += kept.count
                }
            }
            state.batches = remaining
            state.bufferedCount = count
        }
    }

    /// Ends the batch sequence; buffered batches are dropped (unprocessed, so redelivered after a restart).
    func finish() {
        let waiter = fields.withLock { state in
            state.isFinished = true
            state.batches = []
            state.bufferedCount = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// The consumed messages as an asynchronous sequence of batches, in poll order (per-partition order preserved).
///
/// A batch holds up to ``KafkaConsumerConfiguration/maxBatchSize`` messages, or fewer once its first message
/// waited ``KafkaConsumerConfiguration/maxBatchWait``. The sequence ends when the consumer closes.
///
/// - Important: one task iterates at a time.
public struct KafkaMessageBatches: AsyncSequence, Sendable {
    public typealias Element = [KafkaMessage]

    let state: ConsumerState
    let wake: @Sendable () -> Void

    public struct AsyncIterator: AsyncIteratorProtocol {
        let state: ConsumerState
        let wake: @Sendable () -> Void

        public mutating func next() async -> [KafkaMessage]? {
            await state.next(onDrained: wake)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(state: state, wake: wake)
    }
}
