import Dispatch
import LienThongDomain
public import LienThongKafka
public import LienThongPostgres
public import Logging
import Synchronization

/// Consumes dossier events and applies them: decode and validate, then one PostgreSQL transaction per batch
/// (``DossierBatchWriter``), then store and commit the offsets in Kafka so that lag tools see the truth.
///
/// PostgreSQL holds the authoritative position: on assignment the consumer starts from the next offset stored there
/// (written in the same transaction as the effects), so a crash anywhere redelivers only what was not committed, and
/// the inbox turns a redelivery into a duplicate without effect.
public final class DossierEventWorker: Sendable {
    private let consumer: KafkaConsumer
    private let connection: PostgresConnection
    private let writer: DossierBatchWriter
    private let decoder = InboundEventDecoder()
    private let retryPolicy: PostgresRetryPolicy
    private let logger: Logger
    private let inFlight: InFlightBatch

    /// Creates the worker and its consumer (subscribed to `topic`), which resumes from PostgreSQL's positions.
    public init(
        consumerConfiguration: KafkaConsumerConfiguration,
        topic: String,
        connection: PostgresConnection,
        positionsConnection: PostgresConnection,
        writer: DossierBatchWriter,
        logger: Logger
    ) throws {
        let inFlight = InFlightBatch()
        let group = writer.consumerGroup
        self.consumer = try KafkaConsumer(
            configuration: consumerConfiguration,
            rebalanceHandler: KafkaRebalanceHandler(
                willAssign: { partitions in
                    Self.storedPositions(partitions, group: group, connection: positionsConnection, logger: logger)
                },
                willRevoke: { _, _ in inFlight.waitUntilIdle() }),
            logger: logger)
        try consumer.subscribe(topics: [topic])
        self.connection = connection
        self.writer = writer
        self.logger = logger
        self.inFlight = inFlight
        var policy = PostgresRetryPolicy()
        policy.retriesConnectionLoss = true  // safe: the inbox makes the batch transaction idempotent
        self.retryPolicy = policy
    }

    /// Processes batches until the consumer closes.
    public func run() async {
        for await batch in consumer.batches {
            do {
                try await process(batch)
            } catch {
                logger.error("batch failed", metadata: ["worker.error": "\(error)"])
            }
        }
    }

    /// Stops consuming: the batch in progress finishes, offsets are committed, the consumer leaves the group.
    public func close() async {
        await consumer.close()
    }

    /// Processes one batch: records of a previous assignment are skipped (their next owner reads them).
    @discardableResult
    public func process(_ batch: [KafkaMessage]) async throws -> [EventOutcome] {
        inFlight.begin()
        defer { inFlight.end() }
        let owned = batch.filter { consumer.owns($0) }
        guard !owned.isEmpty else { return [] }
        var events: [ConsumedEvent] = []
        var deadLetters: [DeadLetter] = []
        for message in owned {
            guard let value = message.value else {
                deadLetters.append(letter(message, errorClass: "malformed", reason: "tombstone"))
                continue
            }
            switch decoder.decode(value) {
            case .success(let event):
                events.append(
                    ConsumedEvent(
                        topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                        bytes: value, event: event))
            case .failure(let rejection):
                deadLetters.append(letter(message, errorClass: rejection.errorClass.rawValue, reason: rejection.reason))
            }
        }
        let writer = writer
        let (toWrite, letters) = (events, deadLetters)
        let outcomes = try await connection.withTransaction(retrying: retryPolicy) { session in
            try writer.write(toWrite, deadLetters: letters, in: session)
        }
        // Kafka's commit follows PostgreSQL's, for lag tools; PostgreSQL stays authoritative.
        try? consumer.storeOffsets(
            owned.reduce(into: [:]) { $0[$1.topicPartition] = max($0[$1.topicPartition] ?? 0, $1.nextOffset) })
        try? consumer.commitInBackground()
        return outcomes
    }

    private func letter(_ message: KafkaMessage, errorClass: String, reason: String) -> DeadLetter {
        DeadLetter(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value,
            errorClass: errorClass, reason: reason)
    }

    /// Reads the stored next offsets for newly assigned partitions. Runs on the consumer's poll thread (a dedicated
    /// thread, not the cooperative pool), which waits for the query.
    private static func storedPositions(
        _ partitions: [KafkaTopicPartition], group: String, connection: PostgresConnection, logger: Logger
    ) -> [KafkaTopicPartition: Int64] {
        let result = Mutex<[KafkaTopicPartition: Int64]>([:])
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            do {
                let rows = try await connection.query(
                    """
                    SELECT topic, partition, next_offset FROM consumer_position
                    WHERE consumer_group = \(group) AND topic = ANY(\(partitions.map(\.topic)))
                    """)
                let wanted = Set(partitions)
                var offsets: [KafkaTopicPartition: Int64] = [:]
                for row in rows {
                    let (topic, partition, offset) = try row.decode((String, Int32, Int64).self)
                    let key = KafkaTopicPartition(topic: topic, partition: partition)
                    if wanted.contains(key) { offsets[key] = offset }
                }
                result.withLock { $0 = offsets }
            } catch {
                logger.error(
                    "stored positions unavailable; using Kafka's committed offsets",
                    metadata: ["worker.error": "\(error)"])
            }
        }
        done.wait()
        return result.withLock { $0 }
    }
}

/// Lets a revocation wait until the batch being processed is finished (and its offsets stored). Only the
/// consumer's poll thread ever blocks here; the processing task only flips state under a lock.
private final class InFlightBatch: Sendable {
    private struct State {
        var isBusy = false
        var waiter: DispatchSemaphore?
    }

    private let state = Mutex(State())

    func begin() {
        state.withLock { $0.isBusy = true }
    }

    func end() {
        let waiter = state.withLock { state -> DispatchSemaphore? in
            state.isBusy = false
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.signal()
    }

    /// Blocks the calling (poll) thread until no batch is in progress, for at most 20 s.
    func waitUntilIdle() {
        let semaphore = DispatchSemaphore(value: 0)
        let mustWait = state.withLock { state -> Bool in
            guard state.isBusy else { return false }
            state.waiter = semaphore
            return true
        }
        if mustWait { _ = semaphore.wait(timeout: .now() + 20) }
    }
}
