internal import CRdKafka
public import Logging
import Synchronization

import class Foundation.Thread

/// An idempotent Kafka producer over librdkafka 2.0.2 whose sends complete when the broker confirms delivery.
///
/// A dedicated thread blocks in `rd_kafka_poll` and serves delivery reports, which resume the awaiting tasks:
/// no sleep-polling and no added latency. When librdkafka's queue is full, senders wait for deliveries to free
/// space instead of failing.
///
/// A fatal error (an idempotence sequence violation, for instance) makes the producer unusable: sends then fail
/// with ``KafkaError/isFatal`` and ``fatalError`` is set, so the owner can close it and create a new one.
public final class KafkaProducer: Sendable {
    private struct State {
        var isStopRequested = false
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var latestStatistics: String?
    }

    private final class SharedState: Sendable {
        let fields = Mutex(State())

        func withLock<T>(_ body: (inout State) -> T) -> T { fields.withLock { body(&$0) } }
    }

    private let client: RDKafkaClient
    private let context: RDKafkaCallbackContext
    private let state: SharedState
    private let heartbeat = PollHeartbeat()
    private let pollThreadFinished = CompletionSignal()
    private let blockingCalls = BlockingCallQueue(label: "lienthong.kafka.producer.blocking")

    /// Creates the producer and starts its poll thread.
    /// - Throws: ``KafkaError`` `.invalidConfiguration` naming the property librdkafka refuses.
    public init(
        configuration: KafkaProducerConfiguration,
        eventHandler: (@Sendable (KafkaClientEvent) -> Void)? = nil,
        logger: Logger
    ) throws(KafkaError) {
        let conf = try RDKafkaConfig(properties: configuration.librdkafkaProperties())
        let state = SharedState()
        let events = eventHandler ?? { _ in }
        let context = RDKafkaCallbackContext(
            delivery: { message in DeliveryBatch.complete(message) },
            statistics: { json in
                state.withLock { $0.latestStatistics = json }
                events(.statistics(json))
            },
            error: { handle, error, reason in events(.error(KafkaError.reported(handle: handle, error, reason))) },
            log: RDKafkaCallbackContext.log(to: logger)
        )
        conf.install(context: context, kind: .producer)
        let client = try RDKafkaClient.make(kind: .producer, configuration: conf)
        self.client = client
        self.context = context
        self.state = state

        let idleTimeout = Int32(configuration.pollTimeout.milliseconds)
        let heartbeat = heartbeat
        let finished = pollThreadFinished
        let thread = Thread {
            withExtendedLifetime(context) {
                try? client.withHandle { handle in
                    while !state.withLock({ $0.isStopRequested }) {
                        heartbeat.beat()
                        rd_kafka_poll(handle, idleTimeout)
                        // Deliveries free queue space: let waiting senders retry.
                        let waiters = state.withLock { state in
                            defer { state.spaceWaiters = [] }
                            return state.spaceWaiters
                        }
                        for waiter in waiters { waiter.resume() }
                    }
                    // Fail what is still queued so that no sender waits forever, then serve those reports.
                    rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                    rd_kafka_poll(handle, 0)
                }
                client.destroy()
            }
            finished.signal()
        }
        thread.name = "lienthong-kafka-producer"
        thread.start()
    }

    deinit {
        state.withLock { $0.isStopRequested = true }
    }

    /// Produces one record and waits until the broker confirms it.
    /// - Throws: ``KafkaError`` `.produce` if it cannot be enqueued, `.delivery` if the broker did not take it.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        try await send([message])[0].get()
    }

    /// Produces records in order and waits for every delivery report.
    /// - Returns: one result per record, in the order given.
    public func send(_ messages: [KafkaProducerMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await send(count: messages.count) { messages[$0] }
    }

    /// Produces `count` records in order, each built by `message` when its turn comes, so that no array of them
    /// need exist; waits for every delivery report.
    /// - Parameter message: called for each index, from 0 to `count - 1` in order (again for an index whose
    ///   record had to wait for queue space).
    /// - Returns: one result per record, in order.
    public func send(
        count: Int, _ message: (Int) -> KafkaProducerMessage
    ) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await send(count: count) { index, writer in writer.produce(message(index)) }
    }

    /// Produces `count` records in order, each queued from its parts by `records` when its turn comes (see
    /// ``KafkaRecordWriter``); waits for every delivery report.
    /// - Parameter records: queues record `index` with one `produce` call on the writer; called for each index
    ///   from 0 to `count - 1` in order, and again for an index whose record had to wait for queue space.
    /// - Returns: one result per record, in order.
    public func send(
        count: Int, records: (_ index: Int, _ writer: inout KafkaRecordWriter) -> Void
    ) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        let batch = DeliveryBatch(count: count)
        var writer = KafkaRecordWriter(client: client, batch: batch)
        for index in 0..<count {
            while true {
                writer.index = index
                writer.outcome = nil
                records(index, &writer)
                switch writer.outcome {
                case .queueFull:
                    await waitForQueueSpace()
                    continue
                case .failed(let error):
                    batch.complete(index, .failure(error))
                case nil:
                    preconditionFailure("send(count:records:) queues each record with one produce call")
                case .enqueued:
                    break
                }
                break
            }
        }
        // The reports use the batch unretained: it lives until this returns, after the last one.
        return await batch.results()
    }

    /// Waits until every queued record is delivered or failed.
    /// - Throws: ``KafkaError`` `.timedOut` if records are still queued after `timeout`.
    public func flush(timeout: Duration = .seconds(10)) async throws(KafkaError) {
        let client = client
        try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    let error = rd_kafka_flush(handle, Int32(timeout.milliseconds))
                    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw KafkaError(
                            code: .timedOut, responseError: error, reason: "records still queued after flush")
                    }
                }
            }
        }
    }

    /// Asks the cluster for `topic`'s partitions and keeps the answer, so the first record sent to it goes out at
    /// once: librdkafka 2.0.2 looks up a topic it has not produced to only on its next topic scan, up to a second
    /// after the record was queued. (The property `allow.auto.create.topics`, true by default for producers, lets
    /// a broker with auto-creation enabled create the topic on this request.)
    /// - Returns: the topic's partition count.
    /// - Throws: ``KafkaError`` `.metadata` when the topic is unknown or no broker answers within `timeout`.
    public func partitionCount(of topic: String, timeout: Duration = .seconds(5)) async throws(KafkaError) -> Int32 {
        let client = client
        return try await blockingCalls.run {
            Result { () throws(KafkaError) in
                try client.withHandle { handle throws(KafkaError) in
                    try RDKafkaMetadata.partitionCount(of: topic, handle: handle, timeout: timeout)
                }
            }
        }
    }

    /// The fatal error that made this producer unusable, if any.
    public var fatalError: KafkaError? {
        try? client.withHandle { handle in
            var buffer = [CChar](repeating: 0, count: 512)
            let error = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            let reason = String(errorBuffer: buffer)
            return KafkaError(
                code: .delivery, reason: reason, librdkafkaCode: error.rawValue,
                librdkafkaName: String(cString: rd_kafka_err2name(error)), isFatal: true)
        }
    }

    /// The latest statistics JSON, when ``KafkaProducerConfiguration/statisticsInterval`` is set.
    public var latestStatistics: String? {
        state.withLock { $0.latestStatistics }
    }

    /// Time since the poll thread last went round its loop.
    public var timeSinceLastPoll: Duration {
        heartbeat.age
    }

    /// Flushes within `timeout`, fails what is still queued, stops the poll thread and destroys the client.
    /// - Returns: false if the poll thread did not finish in time (librdkafka 2.0.2 can hang in destroy).
    @discardableResult
    public func close(timeout: Duration = .seconds(10)) async -> Bool {
        try? await flush(timeout: timeout)
        state.withLock { $0.isStopRequested = true }
        return await pollThreadFinished.wait(timeout: timeout)
    }

    private func waitForQueueSpace() async {
        await withCheckedContinuation { continuation in
            let isStopped = state.withLock { state in
                if !state.isStopRequested { state.spaceWaiters.append(continuation) }
                return state.isStopRequested
            }
            if isStopped { continuation.resume() }
        }
    }
}

/// The results of one ``KafkaProducer`` send of several records, filled by delivery reports.
///
/// Each record's librdkafka opaque points into one buffer of slots allocated with the batch (its index, its topic
/// and the batch), instead of an object per record; each report writes its record's result into a second buffer,
/// moved into the array handed out once every record has one (an array of placeholder results, each overwritten,
/// copied and destroyed an error per record).
final class DeliveryBatch: @unchecked Sendable {
    // Unchecked: a slot (and `initializedSlots`) is written only by the sender, before the slot's record is
    // produced, and read afterwards by that record's delivery report (librdkafka's queues order the two) and by
    // `deinit` (after the last result let the sender go on and drop the batch). A result is written once, by its
    // record's report or by the sender when the produce failed, before that record is counted off
    // `state.remaining` under the mutex; the results are read (moved out) only by whoever saw `remaining` reach 0
    // under the same mutex.
    private struct State {
        var remaining: Int
        var continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
        var isHandedOut = false
    }

    private struct Slot {
        let batch: Unmanaged<DeliveryBatch>
        let index: Int
        let topic: String
    }

    private let count: Int
    private let state: Mutex<State>
    private let slots: UnsafeMutablePointer<Slot>
    /// How many slots ``opaque(forRecord:topic:)`` initialised (the first ones, in order).
    private var initializedSlots = 0
    private let results: UnsafeMutablePointer<Result<KafkaDeliveryReport, KafkaError>>

    /// A batch of `count` records.
    init(count: Int) {
        self.count = count
        state = Mutex(State(remaining: count))
        slots = .allocate(capacity: count)
        results = .allocate(capacity: count)
    }

    deinit {
        slots.deinitialize(count: initializedSlots)
        slots.deallocate()
        // Every result is in by now: a record holds the batch until its result is. They were moved out unless
        // nobody asked for them.
        if !state.withLock({ $0.isHandedOut }) { results.deinitialize(count: count) }
        results.deallocate()
    }

    /// The opaque to produce record `index` (the next one) with. It holds no reference: the sender holds the batch
    /// until every record has its result, so the batch outlives each report (a retain per record, released by its
    /// report on the poll thread, bounced the batch's reference count between two threads).
    func opaque(forRecord index: Int, topic: String) -> UnsafeMutableRawPointer {
        if index == initializedSlots {
            (slots + index).initialize(to: Slot(batch: .passUnretained(self), index: index, topic: topic))
            initializedSlots += 1
        }
        return UnsafeMutableRawPointer(slots + index)
    }

    /// Serves one delivery report (on the producer's poll thread).
    static func complete(_ message: UnsafePointer<rd_kafka_message_t>) {
        guard let opaque = message.pointee._private else { return }
        let slot = opaque.assumingMemoryBound(to: Slot.self)
        let index = slot.pointee.index
        let error = message.pointee.err
        let result: Result<KafkaDeliveryReport, KafkaError> =
            error == RD_KAFKA_RESP_ERR_NO_ERROR
            ? .success(
                KafkaDeliveryReport(
                    topicPartition: KafkaTopicPartition(
                        topic: slot.pointee.topic, partition: message.pointee.partition),
                    offset: message.pointee.offset))
            : .failure(KafkaError(code: .delivery, responseError: error))
        // Unretained: this record has no result yet, so the sender is still waiting and holds the batch. Nothing reads
        // the slot after `complete`: the last result lets the sender go on and free the batch.
        slot.pointee.batch._withUnsafeGuaranteedRef { $0.complete(index, result) }
    }

    /// Records the result of record `index`; once per record. (Consumed: moved into its place, not copied there and
    /// then destroyed, a retain and a release of the topic per delivery report.)
    func complete(_ index: Int, _ result: consuming Result<KafkaDeliveryReport, KafkaError>) {
        (results + index).initialize(to: result)
        let waiting = state.withLock {
            state -> CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>? in
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            state.isHandedOut = true
            return continuation
        }
        waiting?.resume(returning: takeResults())
    }

    func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            let isComplete = state.withLock { state in
                guard state.remaining > 0 else {
                    state.isHandedOut = true
                    return true
                }
                state.continuation = continuation
                return false
            }
            if isComplete { continuation.resume(returning: takeResults()) }
        }
    }

    /// Moves every result into an array (called once, after the last one is in).
    private func takeResults() -> [Result<KafkaDeliveryReport, KafkaError>] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if let start = buffer.baseAddress { start.moveInitialize(from: results, count: count) }
            initialized = count
        }
    }
}
