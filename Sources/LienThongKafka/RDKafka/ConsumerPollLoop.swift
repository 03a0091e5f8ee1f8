internal import CRdKafka
import Dispatch
import Synchronization

/// The batch being filled on the poll thread.
///
/// - Important: `@unchecked Sendable` because it is confined to the consumer's poll thread: the loop and the
///   rebalance callback (which librdkafka runs inside `rd_kafka_consumer_poll` on that same thread) are its only
///   users.
final class PendingBatch: @unchecked Sendable {
    private(set) var messages: [KafkaMessage] = []
    private let capacity: Int
    var deadline = ContinuousClock.now
    /// The assignment generation stamped on records as they are read; the revoke callback advances it.
    var assignmentGeneration: UInt64 = 0
    /// Partitions that delivered a record since they were assigned (or sought): librdkafka has started fetching
    /// them, so the flow control may pause them. Pausing a partition whose fetch has not started yet races
    /// librdkafka's own start of it, which it then drops as outdated (2.0.2), and the partition never fetches.
    private(set) var delivering: Set<KafkaTopicPartition> = []
    /// The partition of the last record appended (`messages.last` copied the whole record to read it).
    private var lastPartition: KafkaTopicPartition?

    init(capacity: Int) {
        self.capacity = capacity
        messages.reserveCapacity(capacity)
    }

    var isEmpty: Bool { messages.isEmpty }
    var isFull: Bool { messages.count >= capacity }

    /// - Parameter message: taken, not copied (a borrowed record was copied into the batch, every field retained,
    ///   and the caller's released).
    func append(_ message: consuming KafkaMessage, maxWait: Duration) {
        if messages.isEmpty { deadline = .now + maxWait }
        // Records come in runs per partition: hash the partition once per run, not once per record.
        if lastPartition != message.topicPartition {
            delivering.insert(message.topicPartition)
            lastPartition = message.topicPartition
        }
        messages.append(message)
    }

    func take() -> [KafkaMessage] {
        defer {
            messages = []
            messages.reserveCapacity(capacity)
        }
        return messages
    }

    func discard(_ partitions: Set<KafkaTopicPartition>) {
        messages.removeAll { partitions.contains($0.topicPartition) }
        delivering.subtract(partitions)
        lastPartition = messages.last?.topicPartition
    }
}

/// The body of a consumer's poll thread: poll, fill batches, hand them over, serve seeks and flow control.
struct ConsumerPollLoop: Sendable {
    let client: RDKafkaClient
    let context: RDKafkaCallbackContext
    let state: ConsumerState
    let pending: PendingBatch
    let heartbeat: PollHeartbeat
    let configuration: KafkaConsumerConfiguration
    let events: @Sendable (KafkaClientEvent) -> Void

    /// Runs until a stop is requested, then closes the consumer (the final revoke runs here) and destroys it.
    func run() {
        _ = withExtendedLifetime(context) {
            try? client.withHandle { handle in
                pollUntilStopped(handle)
                state.finish()
                rd_kafka_consumer_close(handle)
            }
        }
        client.destroy()
    }

    private func pollUntilStopped(_ handle: OpaquePointer) {
        let idleTimeout = Int32(configuration.pollTimeout.milliseconds)
        var reader = RDKafkaMessageReader()
        var hold = FullBufferHold.none
        while true {
            heartbeat.beat()
            let (isStopped, seeks) = state.fields.withLock { state in
                defer { state.seekRequests = [] }
                return (state.isStopRequested, state.seekRequests)
            }
            if isStopped { return }
            for seek in seeks { perform(seek, handle: handle) }
            if holdsOffPolling(&hold) { continue }
            applyFlowControl(handle)

            let timeout =
                pending.isEmpty ? idleTimeout : Self.milliseconds(until: pending.deadline, atMost: idleTimeout)
            if let message = rd_kafka_consumer_poll(handle, timeout) {
                accept(message, reader: &reader)
                // Drain what is already fetched without blocking, up to a full batch.
                while !pending.isFull, let next = rd_kafka_consumer_poll(handle, 0) {
                    accept(next, reader: &reader)
                }
            }
            if !pending.isEmpty && (pending.isFull || ContinuousClock.now >= pending.deadline) {
                _ = state.push(pending.take())
            }
        }
    }

    private func accept(_ message: UnsafeMutablePointer<rd_kafka_message_t>, reader: inout RDKafkaMessageReader) {
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            pending.append(
                reader.read(message, generation: pending.assignmentGeneration), maxWait: configuration.maxBatchWait)
        } else if error != RD_KAFKA_RESP_ERR__PARTITION_EOF {
            // A consume error names its partition (a fetch that failed, an offset out of range).
            let place =
                message.pointee.rkt.map {
                    " (\(String(cString: rd_kafka_topic_name($0))) [\(message.pointee.partition)] at offset \(message.pointee.offset))"
                } ?? ""
            events(
                .error(
                    KafkaError(
                        code: .broker, responseError: error, reason: String(cString: rd_kafka_err2str(error)) + place)))
        }
    }

    /// Where the poll thread stands with a full buffer.
    enum FullBufferHold {
        /// The buffer has room, or is draining after a hold: poll.
        case none
        /// The buffer filled at `since`: do not poll until it is down to half, for at most
        /// ``KafkaConsumerConfiguration/fullBufferHold``.
        case holding(since: ContinuousClock.Instant)
        /// The hold ran out with the buffer still above half: poll, and let the flow control pause.
        case expired

        var isHolding: Bool {
            if case .holding = self { true } else { false }
        }
    }

    /// While the buffer is full, waits (up to ``KafkaConsumerConfiguration/pollTimeout`` at a time, so the loop
    /// keeps serving stops and seeks) instead of polling, until it is down to half or the hold runs out; returns
    /// whether it waited. Not polling leaves librdkafka's prefetch in place (it stops fetching at its own bounds);
    /// pausing would drop it, to be fetched again.
    private func holdsOffPolling(_ hold: inout FullBufferHold) -> Bool {
        let now = ContinuousClock.now
        state.fields.withLock { state in
            switch hold {
            case .none where state.isFull && configuration.fullBufferHold > .zero:
                hold = .holding(since: now)
            case .holding(let since) where !state.isDrained:
                if now - since >= configuration.fullBufferHold { hold = .expired }
            case .holding, .expired:
                if state.isDrained { hold = .none }
            case .none:
                break
            }
            state.isHoldingPolls = hold.isHolding
        }
        guard case .holding(let since) = hold else { return false }
        let wait = min(since + configuration.fullBufferHold - now, configuration.pollTimeout)
        _ = state.holdEnded.wait(timeout: .now() + .milliseconds(Int(wait.milliseconds) + 1))
        return true
    }

    /// Pauses every assigned partition that is delivering while the buffer is full; resumes those it paused once
    /// it is half empty. (A partition that has not delivered yet adds at most one fetch to the buffer before it is
    /// paused in turn.)
    private func applyFlowControl(_ handle: OpaquePointer) {
        let delivering = pending.delivering
        let (toPause, toResume) = state.fields.withLock { state -> ([KafkaTopicPartition], [KafkaTopicPartition]) in
            if state.isFull {
                let toPause = state.assigned.intersection(delivering).subtracting(state.pausedByApplication)
                    .subtracting(state.pausedByFlowControl)
                state.pausedByFlowControl.formUnion(toPause)
                return (Array(toPause), [])
            }
            if state.isDrained && !state.pausedByFlowControl.isEmpty {
                defer { state.pausedByFlowControl = [] }
                return ([], Array(state.pausedByFlowControl.subtracting(state.pausedByApplication)))
            }
            return ([], [])
        }
        do {
            try KafkaConsumer.setPaused(true, toPause, handle: handle)
            try KafkaConsumer.setPaused(false, toResume, handle: handle)
        } catch {
            events(.error(error))
        }
    }

    private func perform(_ seek: ConsumerState.SeekRequest, handle: OpaquePointer) {
        pending.discard([seek.topicPartition])
        state.discard([seek.topicPartition])
        let result = RDKafkaTopicPartitionList.withNew([(seek.topicPartition, seek.offset)]) {
            list -> Result<Void, KafkaError> in
            // A bounded wait (30 s) so that errors are reported; the seek itself is served by librdkafka's threads.
            if let error = rd_kafka_seek_partitions(handle, list.pointer, Self.seekTimeoutArgument) {
                defer { rd_kafka_error_destroy(error) }
                return .failure(KafkaError(code: .partitionOperation, responseError: rd_kafka_error_code(error)))
            }
            if let (_, error) = list.firstError {
                return .failure(KafkaError(code: .partitionOperation, responseError: error))
            }
            return .success(())
        }
        seek.continuation.resume(returning: result)
    }

    /// The timeout to give `rd_kafka_seek_partitions` for a 30 s wait. librdkafka before 2.1.0 (Debian ships 2.0.2)
    /// waits for the seek's result with the remaining milliseconds taken as microseconds (fixed upstream by
    /// pull request 4230): 30,000 meant a 30 ms wait, and a seek whose broker thread was busy failed as timed out.
    /// There, 30,000,000 waits the intended 30 s.
    static let seekTimeoutArgument: Int32 = rd_kafka_version() < 0x0201_0000 ? 30_000_000 : 30_000

    private static func milliseconds(until deadline: ContinuousClock.Instant, atMost limit: Int32) -> Int32 {
        let remaining = deadline - .now
        guard remaining > .zero else { return 0 }
        // Round up so that a sub-millisecond remainder blocks instead of spinning.
        return Int32(min(Int64(limit), remaining.milliseconds + 1))
    }
}
