internal import CRdKafka
public import Logging
import Synchronization

import class Foundation.Thread

/// A Kafka group consumer over librdkafka 2.0.2.
///
/// One dedicated thread per consumer owns `rd_kafka_consumer_poll`; rebalances, errors and statistics arrive on
/// that thread too (the main queue is forwarded to the consumer queue). Messages reach Swift in batches through
/// a bounded buffer (``batches``): when it holds ``KafkaConsumerConfiguration/maxBufferedMessages`` the poll
/// thread stops polling until it is down to half, leaving librdkafka's bounded prefetch in place; if that takes
/// longer than ``KafkaConsumerConfiguration/fullBufferHold``, it pauses the partitions and keeps polling, resuming
/// them at half. Memory stays bounded whatever the backlog. Offsets are stored only when the application says so
/// (``storeOffsets(_:)``) and committed automatically, by ``commit()``, or before partitions are revoked.
///
/// - Important: no call here blocks the caller's thread beyond a lock: blocking librdkafka calls run on the
///   poll thread or on a private dispatch queue.
public final class KafkaConsumer: Sendable {
    /// The consumed messages in batches; ends when the consumer closes.
    public let batches: KafkaMessageBatches

    private let client: RDKafkaClient
    private let context: RDKafkaCallbackContext
    private let state: ConsumerState
    private let heartbeat = PollHeartbeat()
    private let pollThreadFinished = CompletionSignal()
    private let blockingCalls: BlockingCallQueue

    /// Creates the consumer and starts its poll thread; call ``subscribe(topics:)`` next.
    /// - Parameters:
    ///   - configuration: typed settings and librdkafka passthrough.
    ///   - rebalanceHandler: runs on the poll thread before assignments and revocations take effect.
    ///   - eventHandler: receives statistics, errors and rebalance notices on the poll thread.
    ///   - logger: librdkafka's own log lines go here (critical ones at critical, the rest at debug or trace).
    /// - Throws: ``KafkaError`` `.invalidConfiguration` naming the property librdkafka refuses.
    public init(
        configuration: KafkaConsumerConfiguration,
        rebalanceHandler: KafkaRebalanceHandler = KafkaRebalanceHandler(),
        eventHandler: (@Sendable (KafkaClientEvent) -> Void)? = nil,
        logger: Logger
    ) throws(KafkaError) {
        let conf = try RDKafkaConfig(properties: configuration.librdkafkaProperties())
        let state = ConsumerState(capacity: configuration.maxBufferedMessages)
        let pending = PendingBatch(capacity: configuration.maxBatchSize)
        let events = eventHandler ?? { _ in }
        let context = RDKafkaCallbackContext(
            rebalance: { handle, error, list in
                Self.rebalance(
                    handle: handle, error: error, list: list, state: state, pending: pending,
                    handler: rebalanceHandler, events: events)
            },
            offsetCommit: { error in
                let succeeded = error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET
                events(.committed(succeeded ? nil : KafkaError(code: .offsets, responseError: error)))
            },
            statistics: { json in
                state.fields.withLock { $0.latestStatistics = json }
                events(.statistics(json))
            },
            error: { handle, error, reason in events(.error(KafkaError.reported(handle: handle, error, reason))) },
            log: RDKafkaCallbackContext.log(to: logger)
        )
        conf.install(context: context, kind: .consumer)
        let client = try RDKafkaClient.make(kind: .consumer, configuration: conf)
        self.client = client
        self.context = context
        self.state = state
        self.blockingCalls = BlockingCallQueue(label: "lienthong.kafka.consumer.blocking")
        self.batches = KafkaMessageBatches(state: state, wake: { Self.wakePollThread(client, state) })

        let loop = ConsumerPollLoop(
            client: client, context: context, state: state, pending: pending, heartbeat: heartbeat,
            configuration: configuration, events: events)
        let finished = pollThreadFinished
        let thread = Thread {
            loop.run()
            finished.signal()
        }
        thread.name = "lienthong-kafka-consumer"
        thread.start()
    }

    deinit {
        state.fields.withLock { $0.isStopRequested = true }
        Self.wakePollThread(client, state)
    }

    /// Wakes the poll thread, whether it waits in `rd_kafka_consumer_poll` or holds off polling (full buffer).
    private static func wakePollThread(_ client: RDKafkaClient, _ state: ConsumerState) {
        client.wakeConsumerPoll()
        state.holdEnded.signal()
    }

    /// Subscribes the group member to `topics`; partitions arrive through the rebalance handler.
    /// - Throws: ``KafkaError`` `.subscription`.
    public func subscribe(topics: [String]) throws(KafkaError) {
        let entries = topics.map { (KafkaTopicPartition(topic: $0, partition: lt_partition_unassigned()), Int64?.none) }
        try client.withHandle { handle throws(KafkaError) in
            try RDKafkaTopicPartitionList.withNew(entries) { list throws(KafkaError) in
                let error = rd_kafka_subscribe(handle, list.pointer)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(code: .subscription, responseError: error)
                }
            }
        }
    }

    /// Stores the offsets to commit: for each partition, the offset of the next message to read.
    /// - Throws: ``KafkaError`` `.offsets`, e.g. `_STATE` for a partition no longer assigned.
    public func storeOffsets(_ nextOffsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !nextOffsets.isEmpty else { return }
        try client.withHandle { handle throws(KafkaError) in
            try RDKafkaTopicPartitionList.withNew(nextOffsets.map { ($0.key, $0.value) }) { list throws(KafkaError) in
                let error = rd_kafka_offsets_store(handle, list.pointer)
                if let (partition, partitionError) = list.firstError {
                    throw KafkaError(
                        code: .offsets, responseError: partitionError,
                        reason: "storing the offset of \(partition) failed")
                }
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(code: .offsets, responseError: error)
                }
            }
        }
    }

    /// Stores `message.offset + 1` for its partition (librdkafka 2.0.2 does not add the 1 itself).
    public func storeOffset(after message: KafkaMessage) throws(KafkaError) {
        try storeOffsets([message.topicPartition: message.nextOffset])
    }

    /// Commits the stored offsets and waits for the broker's answer.
    /// - Throws: ``KafkaError`` `.offsets`; having nothing to commit is not an error.
    public func commit() async throws(KafkaError) {
        try await commit(nil)
    }

    /// Commits exactly these next offsets and waits for the broker's answer.
    public func commit(_ nextOffsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        try await commit(Optional(nextOffsets))
    }

    private func commit(_ nextOffsets: [KafkaTopicPartition: Int64]?) async throws(KafkaError) {
        let client = client
        try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    let error: rd_kafka_resp_err_t
                    if let nextOffsets {
                        error = RDKafkaTopicPartitionList.withNew(nextOffsets.map { ($0.key, $0.value) }) { list in
                            rd_kafka_commit(handle, list.pointer, 0)
                        }
                    } else {
                        error = rd_kafka_commit(handle, nil, 0)
                    }
                    guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
                        throw KafkaError(code: .offsets, responseError: error)
                    }
                }
            }
        }
    }

    /// Starts committing the stored offsets without waiting; the outcome arrives as a `.committed` event.
    public func commitInBackground() throws(KafkaError) {
        try client.withHandle { handle throws(KafkaError) in
            let error = rd_kafka_commit(handle, nil, 1)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
                throw KafkaError(code: .offsets, responseError: error)
            }
        }
    }

    /// The log end offset (high watermark) of every partition of `topic`, asked of the partition leaders; for
    /// reconciliation and lag.
    /// - Throws: ``KafkaError`` when the topic is unknown or a broker does not answer within `timeout`.
    public func endOffsets(
        of topic: String, timeout: Duration = .seconds(10)
    ) async throws(KafkaError)
        -> [KafkaTopicPartition: Int64]
    {
        let client = client
        return try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    let count = try RDKafkaMetadata.partitionCount(of: topic, handle: handle, timeout: timeout)
                    var offsets: [KafkaTopicPartition: Int64] = [:]
                    for partition in 0..<count {
                        var low: Int64 = 0
                        var high: Int64 = 0
                        let error = rd_kafka_query_watermark_offsets(
                            handle, topic, partition, &low, &high, Int32(timeout.milliseconds))
                        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                            throw KafkaError(code: .offsets, responseError: error)
                        }
                        offsets[KafkaTopicPartition(topic: topic, partition: partition)] = high
                    }
                    return offsets
                }
            }
        }
    }

    /// The group's committed next offsets for `partitions`; a partition without a commit is absent.
    public func committedOffsets(
        for partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = client
        return try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    try RDKafkaTopicPartitionList.withNew(partitions.map { ($0, Int64?.none) }) {
                        list throws(KafkaError) in
                        let error = rd_kafka_committed(handle, list.pointer, Int32(timeout.milliseconds))
                        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                            throw KafkaError(code: .offsets, responseError: error)
                        }
                        return Dictionary(
                            list.entries.compactMap { entry in entry.offset.map { (entry.topicPartition, $0) } },
                            uniquingKeysWith: { first, _ in first })
                    }
                }
            }
        }
    }

    /// Stops fetching `partitions` until ``resume(_:)``; the group membership stays alive. Pause partitions that
    /// delivered a record since their assignment: a pause that overtakes librdkafka's start of a partition's fetch
    /// makes librdkafka 2.0.2 drop that start, and the partition does not fetch until it is assigned again.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        state.fields.withLock { $0.pausedByApplication.formUnion(partitions) }
        try client.withHandle { handle throws(KafkaError) in try Self.setPaused(true, partitions, handle: handle) }
    }

    /// Resumes partitions paused by ``pause(_:)``. A partition the buffer's flow control holds stays paused
    /// until the buffer drains; one not paused (or revoked since, which resumed it) is left alone: resuming it
    /// could overtake librdkafka's start of its fetch.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let resumable = state.fields.withLock { state in
            let paused = partitions.filter { state.pausedByApplication.contains($0) }
            state.pausedByApplication.subtract(paused)
            return paused.filter { !state.pausedByFlowControl.contains($0) }
        }
        try client.withHandle { handle throws(KafkaError) in try Self.setPaused(false, resumable, handle: handle) }
    }

    /// Makes the next message of `partition` the one at `offset`. Messages of that partition fetched earlier and
    /// not yet handed over are dropped; the poll thread performs the seek before it hands over the next batch.
    public func seek(_ partition: KafkaTopicPartition, to offset: Int64) async throws(KafkaError) {
        let result = await withCheckedContinuation { continuation in
            let isStopped = state.fields.withLock { state in
                if !state.isStopRequested {
                    state.seekRequests.append(
                        .init(topicPartition: partition, offset: offset, continuation: continuation))
                }
                return state.isStopRequested
            }
            if isStopped {
                continuation.resume(returning: .failure(KafkaError(code: .closed, reason: "the consumer is closing")))
            } else {
                Self.wakePollThread(client, state)
            }
        }
        try result.get()
    }

    /// The partitions currently assigned to this member. Revoked partitions leave this set before the revoke
    /// handler runs: work that checks it before starting cannot begin on a partition being given up.
    public var assignment: Set<KafkaTopicPartition> {
        state.fields.withLock { $0.assigned }
    }

    /// Whether `message` belongs to the current assignment: its partition is assigned and no revocation
    /// happened since it was fetched. Process and store a record only while this holds; a record fetched before
    /// a revocation is delivered again to whoever owns its partition now, from the committed offset.
    public func owns(_ message: KafkaMessage) -> Bool {
        state.fields.withLock { state in
            message.assignmentGeneration == state.assignmentGeneration
                && state.assigned.contains(message.topicPartition)
        }
    }

    /// The partitions the buffer's flow control holds paused (for tests and diagnostics).
    package var partitionsPausedByFlowControl: Set<KafkaTopicPartition> {
        state.fields.withLock { $0.pausedByFlowControl }
    }

    /// Whether the poll thread, its buffer full, holds off polling (for tests and diagnostics).
    package var isHoldingPolls: Bool {
        state.fields.withLock { $0.isHoldingPolls }
    }

    /// The latest statistics JSON, when ``KafkaConsumerConfiguration/statisticsInterval`` is set.
    public var latestStatistics: String? {
        state.fields.withLock { $0.latestStatistics }
    }

    /// Time since the poll thread last went round its loop: a liveness signal that stays fresh while brokers are
    /// down, and grows only if the thread is stuck (e.g. a rebalance handler that does not return).
    public var timeSinceLastPoll: Duration {
        heartbeat.age
    }

    /// Closes the consumer: ends ``batches`` (dropping buffered, unprocessed batches), leaves the group (the
    /// rebalance handler sees the final revoke and the stored offsets are committed), and destroys the client.
    /// - Parameter timeout: how long to wait for the poll thread; librdkafka 2.0.2 can hang in destroy (#4724),
    ///   in which case the thread is left behind and this returns false.
    @discardableResult
    public func close(timeout: Duration = .seconds(25)) async -> Bool {
        let seeks = state.fields.withLock { state in
            state.isStopRequested = true
            defer { state.seekRequests = [] }
            return state.seekRequests
        }
        for seek in seeks {
            seek.continuation.resume(returning: .failure(KafkaError(code: .closed, reason: "the consumer is closing")))
        }
        state.finish()
        Self.wakePollThread(client, state)
        return await pollThreadFinished.wait(timeout: timeout)
    }

    static func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition], handle: OpaquePointer) throws(KafkaError)
    {
        guard !partitions.isEmpty else { return }
        try RDKafkaTopicPartitionList.withNew(partitions.map { ($0, Int64?.none) }) { list throws(KafkaError) in
            let error =
                paused
                ? rd_kafka_pause_partitions(handle, list.pointer) : rd_kafka_resume_partitions(handle, list.pointer)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .partitionOperation, responseError: error)
            }
        }
    }

    /// Serves librdkafka's rebalance callback on the poll thread; see ``KafkaRebalanceHandler``.
    private static func rebalance(
        handle: OpaquePointer,
        error: rd_kafka_resp_err_t,
        list: RDKafkaTopicPartitionList,
        state: ConsumerState,
        pending: PendingBatch,
        handler: KafkaRebalanceHandler,
        events: @Sendable (KafkaClientEvent) -> Void
    ) {
        let partitions = list.entries.map(\.topicPartition)
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            list.setOffsets(handler.willAssign(partitions))
            // No pause or resume here: librdkafka may start the new partitions' fetches on its own thread (after
            // looking up their committed offsets), and a pause or resume that overtakes such a start makes
            // librdkafka 2.0.2 drop the start as outdated: the partition would never fetch. Revocation resumed
            // whatever we had paused.
            rd_kafka_assign(handle, list.pointer)
            state.fields.withLock { $0.assigned.formUnion(partitions) }
            events(.assigned(partitions))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let isLost = rd_kafka_assignment_lost(handle) != 0
            let revoked = Set(partitions)
            // From here `assignment` no longer lists them, so work not yet started can see it must abandon them.
            let paused = state.fields.withLock { state in
                defer {
                    state.assigned.subtract(revoked)
                    state.pausedByApplication.subtract(revoked)
                    state.pausedByFlowControl.subtract(revoked)
                    state.assignmentGeneration += 1
                }
                return revoked.intersection(state.pausedByApplication.union(state.pausedByFlowControl))
            }
            // librdkafka keeps a partition's pause flag across revoke and re-assign (its toppar outlives the
            // assignment), while our bookkeeping forgets revoked partitions: resume what we paused now, while
            // their fetches run, so a partition assigned back fetches again without a resume at assignment.
            try? setPaused(false, Array(paused), handle: handle)
            pending.assignmentGeneration += 1
            // Fetched but not handed over: never processed, so never stored; the next owner reads them again.
            pending.discard(revoked)
            state.discard(revoked)
            handler.willRevoke(partitions, isLost)
            if !isLost {
                let commitError = rd_kafka_commit(handle, nil, 0)
                if commitError != RD_KAFKA_RESP_ERR_NO_ERROR && commitError != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    events(.committed(KafkaError(code: .offsets, responseError: commitError)))
                }
            }
            rd_kafka_assign(handle, nil)
            events(.revoked(partitions, lost: isLost))
        default:
            rd_kafka_assign(handle, nil)
            state.fields.withLock { $0.assigned = [] }
            events(.error(KafkaError(code: .broker, responseError: error)))
        }
    }
}

extension KafkaError {
    /// An error from librdkafka's error callback; `_FATAL` is resolved to the underlying fatal error.
    static func reported(handle: OpaquePointer, _ error: rd_kafka_resp_err_t, _ reason: String) -> KafkaError {
        guard error == RD_KAFKA_RESP_ERR__FATAL else {
            return KafkaError(code: .broker, responseError: error, reason: reason)
        }
        var buffer = [CChar](repeating: 0, count: 512)
        let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        let fatalReason = String(errorBuffer: buffer)
        return KafkaError(
            code: .broker,
            reason: fatalReason.isEmpty ? reason : fatalReason,
            librdkafkaCode: underlying.rawValue,
            librdkafkaName: String(cString: rd_kafka_err2name(underlying)),
            isFatal: true
        )
    }
}
