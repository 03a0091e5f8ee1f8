import Dispatch
import LienThongDomain
public import LienThongKafka
public import LienThongPostgres
public import Logging
import Synchronization

import struct Foundation.Date

/// Consumes dossier events and applies them: decode and validate, then one PostgreSQL transaction per batch
/// (``DossierBatchWriter``), then store and commit the offsets in Kafka so that lag tools see the truth.
///
/// Partitions are split between *lanes*, one per connection; each lane writes its share of every batch in order,
/// independently of the others: a dossier's events share its partition, so lanes never touch the same dossier,
/// one lane's transaction overlaps the others' round trips and commits, and a lane that waits (a lock, an outage)
/// holds up only its own partitions. A failing lane pauses and retries only its own partitions.
///
/// PostgreSQL holds the authoritative position: on assignment the consumer starts from the next offset stored there
/// (written in the same transaction as the effects), so a crash anywhere redelivers only what was not committed, and
/// the inbox turns a redelivery into a duplicate without effect.
public final class DossierEventWorker: Sendable {
    private let consumer: KafkaConsumer
    private let connections: [PostgresConnection]
    private let writer: DossierBatchWriter
    private let decoder = InboundEventDecoder()
    private let retryPolicy: PostgresRetryPolicy
    private let logger: Logger
    private let inFlight: InFlightBatch
    private let isClosing = Mutex(false)
    private let abandoned = AbandonedPartitions()
    private let metrics: WorkerMetrics

    /// Creates the worker and its consumer (subscribed to `topic`), which resumes from PostgreSQL's positions.
    /// - Parameter connections: one per lane (concurrent batch transactions); at least one.
    public init(
        consumerConfiguration: KafkaConsumerConfiguration,
        topic: String,
        connections: [PostgresConnection],
        positionsConnection: PostgresConnection,
        writer: DossierBatchWriter,
        metrics: WorkerMetrics = .shared,
        logger: Logger
    ) throws {
        let inFlight = InFlightBatch()
        let group = writer.consumerGroup
        var consumerConfiguration = consumerConfiguration
        if consumerConfiguration.statisticsInterval == nil
            && consumerConfiguration.properties["statistics.interval.ms"] == nil
        {
            consumerConfiguration.statisticsInterval = .seconds(5)  // consumer lag for /metrics
        }
        self.consumer = try KafkaConsumer(
            configuration: consumerConfiguration,
            rebalanceHandler: KafkaRebalanceHandler(
                willAssign: { partitions in
                    Self.storedPositions(partitions, group: group, connection: positionsConnection, logger: logger)
                },
                willRevoke: { _, _ in inFlight.waitUntilIdle() }),
            eventHandler: { event in Self.observe(event, metrics: metrics, logger: logger) },
            logger: logger)
        precondition(!connections.isEmpty, "a worker needs at least one connection")
        try consumer.subscribe(topics: [topic])
        self.connections = connections
        self.writer = writer
        self.logger = logger
        self.inFlight = inFlight
        self.metrics = metrics
        var policy = PostgresRetryPolicy()
        policy.retriesConnectionLoss = true  // safe: the inbox makes the batch transaction idempotent
        self.retryPolicy = policy
    }

    /// Whether partitions are assigned to this worker (readiness).
    public var hasAssignment: Bool {
        !consumer.assignment.isEmpty
    }

    /// Time since the consumer's poll thread last went round its loop (liveness).
    public var timeSinceLastPoll: Duration {
        consumer.timeSinceLastPoll
    }

    /// Processes batches until the consumer closes. Each lane writes its share of the batches in order, on its own:
    /// a lane waiting on PostgreSQL (a lock, a slow commit, an outage) holds up only its own partitions, while the
    /// next batch is fetched and decoded and the other lanes go on. A lane holds at most two shares (the one being
    /// written included); beyond that, fetching waits, so memory stays bounded.
    public func run() async {
        var lanes = Array(repeating: [Task<Void, Never>](), count: connections.count)
        for await batch in consumer.batches {
            inFlight.begin()
            for (lane, share) in decode(batch).enumerated() where !share.messages.isEmpty {
                while lanes[lane].count >= Self.queuedSharesPerLane {
                    await lanes[lane].removeFirst().value
                }
                let previous = lanes[lane].last
                inFlight.begin()
                lanes[lane].append(
                    Task {
                        defer { self.inFlight.end() }
                        await previous?.value
                        await self.writeLane(share, lane: lane)
                    })
            }
            inFlight.end()
        }
        for lane in lanes {
            for share in lane { await share.value }
        }
    }

    /// The most shares of batches a lane holds, the one being written included.
    private static let queuedSharesPerLane = 2

    /// Stops consuming: the batch in progress finishes (or, if it is waiting out a PostgreSQL outage, is
    /// abandoned uncommitted), offsets are committed, the consumer leaves the group.
    /// - Parameter timeout: the longest the consumer may take to leave the group. Default: 25 s.
    public func close(timeout: Duration = .seconds(25)) async {
        isClosing.withLock { $0 = true }
        _ = await consumer.close(timeout: timeout)
    }

    /// Decodes and validates the records this worker owns, split into the lanes' shares (by partition); a record
    /// that fails is already a dead letter.
    private func decode(_ batch: consuming [KafkaMessage]) -> [LaneShare<BatchItem>] {
        let owned = ownedIndices(of: batch, excludingAbandoned: false)
        return Self.laneShares(of: batch, owned: owned, lanes: connections.count, decode: decodedItem)
    }

    /// The records at `owned` (ascending indices into `batch`) split into `lanes` shares by partition, each
    /// record beside what `decode` made of it, in batch order. The records are moved out of the batch, last first,
    /// not copied (each copy retained the record's arrays, and releasing the batch released them again).
    static func laneShares<Item: Sendable>(
        of batch: consuming [KafkaMessage], owned: [Int], lanes: Int, decode: (KafkaMessage) -> Item
    ) -> [LaneShare<Item>] {
        var shares = Array(repeating: LaneShare<Item>(), count: lanes)
        for index in owned.reversed() {
            batch.removeLast(batch.count - index - 1)  // records not owned
            let message = batch.removeLast()
            let lane = Int(message.partition) % lanes
            shares[lane].items.append(decode(message))
            shares[lane].messages.append(message)
        }
        for lane in shares.indices {
            shares[lane].items.reverse()
            shares[lane].messages.reverse()
        }
        return shares
    }

    /// The indices of the records this worker still owns (and, `excludingAbandoned`, of partitions no lane
    /// abandoned). Asked once per run of records of one partition and generation, not per record: each ask takes
    /// a lock, and a loop over the records copied each one.
    private func ownedIndices(of messages: [KafkaMessage], excludingAbandoned: Bool) -> [Int] {
        Self.keptIndices(
            count: messages.count,
            isSameRun: { Self.haveOneOwner(messages, $0, $1) },
            isKept: { index in
                consumer.owns(messages[index]) && !(excludingAbandoned && abandoned.contains(messages[index]))
            })
    }

    /// Whether two records share their owner: the same partition, fetched in the same assignment generation.
    static func haveOneOwner(_ messages: [KafkaMessage], _ first: Int, _ second: Int) -> Bool {
        messages[first].assignmentGeneration == messages[second].assignmentGeneration
            && messages[first].topicPartition == messages[second].topicPartition
    }

    /// The indices in `0..<count` that `isKept` accepts, asking it only at the first index of each run: an index
    /// that `isSameRun(previous, index)` joins to the one before shares that one's verdict.
    static func keptIndices(count: Int, isSameRun: (Int, Int) -> Bool, isKept: (Int) -> Bool) -> [Int] {
        var indices: [Int] = []
        indices.reserveCapacity(count)
        var isRunKept = false
        for index in 0..<count {
            if index == 0 || !isSameRun(index - 1, index) { isRunKept = isKept(index) }
            if isRunKept { indices.append(index) }
        }
        return indices
    }

    private func decodedItem(_ message: KafkaMessage) -> BatchItem {
        guard let value = message.value else {
            return .deadLetter(letter(message, errorClass: "malformed", reason: "tombstone"))
        }
        switch decoder.decode(value) {
        case .success(let event):
            return .event(
                ConsumedEvent(
                    topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
                    bytes: value, event: event, consumedAt: message.consumedAt))
        case .failure(let rejection):
            return .deadLetter(letter(message, errorClass: rejection.errorClass.rawValue, reason: rejection.reason))
        }
    }

    /// Writes one lane's share of a batch, then stores and commits its offsets. Records of partitions revoked since
    /// they were decoded are left to their new owner, and so are records behind a share this lane abandoned: a
    /// stored position must never pass a record that was not written.
    private func writeLane(_ share: LaneShare<BatchItem>, lane: Int) async {
        let kept = ownedIndices(of: share.messages, excludingAbandoned: true)
        let current = kept.count == share.messages.count ? share : share.subset(kept)
        guard !current.messages.isEmpty else { return }
        let (messages, items) = (current.messages, current.items)
        guard let outcomes = await persist(items, from: messages, on: connections[lane]) else {
            abandoned.insert(messages)
            return
        }
        logRefusals(items, outcomes)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // By index, field by field: a loop over the messages would copy each one.
        var nextOffsets: [KafkaTopicPartition: Int64] = [:]
        for index in messages.indices {
            if let timestamp = messages[index].timestamp {
                metrics.recordApplyLatency(milliseconds: now - timestamp.milliseconds)
            }
            nextOffsets[messages[index].topicPartition] = max(
                nextOffsets[messages[index].topicPartition] ?? 0, messages[index].nextOffset)
        }
        // Kafka's commit follows PostgreSQL's, for lag tools; PostgreSQL stays authoritative.
        try? consumer.storeOffsets(nextOffsets)
        try? consumer.commitInBackground()
    }

    /// Writes one lane's items, retrying until they are written; nil when the work was abandoned (revoked or
    /// closing).
    ///
    /// A transient failure (PostgreSQL unreachable or failing over, serialization failure, deadlock) pauses the
    /// lane's partitions and retries with jittered exponential backoff until it succeeds, the partitions are
    /// revoked or the worker closes; then nothing of the items is committed and their records are read again. A
    /// failure a record's data can cause (``isRecordAttributable(_:)``) splits the items in two, down to the one
    /// record that fails, which goes to the dead-letter topic; any other failure is retried like a transient one.
    private func persist(
        _ items: [BatchItem], from messages: [KafkaMessage], on connection: PostgresConnection
    ) async -> [EventOutcome]? {
        let partitions = Array(Set(messages.indices.map { messages[$0].topicPartition }))
        var paused = false
        defer { if paused { try? consumer.resume(partitions) } }
        var attempt = 0
        while true {
            do {
                return try await writeIsolatingFailures(items, on: connection)
            } catch {
                attempt += 1
                metrics.recordRetry(transient: Self.isTransient(error))
                logger.warning(
                    "batch not written; retrying",
                    metadata: [
                        "worker.error": "\(error)", "worker.attempt": "\(attempt)",
                        "worker.transient": "\(Self.isTransient(error))",
                    ])
                if !paused {
                    try? consumer.pause(partitions)
                    paused = true
                }
            }
            if isClosing.withLock({ $0 }) || !messages.allSatisfy(consumer.owns) { return nil }
            try? await Task.sleep(for: Self.backoff(afterAttempt: attempt))
            if isClosing.withLock({ $0 }) || !messages.allSatisfy(consumer.owns) { return nil }
        }
    }

    /// Writes the items in one transaction; a failure a record can cause splits them in two (a prefix of each
    /// partition first, so a stored position never passes an unwritten record), down to the single record at
    /// fault, which is dead-lettered with its SQLSTATE.
    ///
    /// A unique violation is first taken for a race and the items written once more: another transaction (a
    /// worker whose partitions were just revoked, or the same event in another partition) stored one of the events
    /// or created one of the dossiers after this one read them, and the second attempt sees it as a duplicate.
    private func writeIsolatingFailures(
        _ items: [BatchItem], on connection: PostgresConnection, retriedConflict: Bool = false
    ) async throws -> [EventOutcome] {
        do {
            return try await write(items, on: connection)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation && !retriedConflict {
            logger.info(
                "batch raced another transaction; writing it again", metadata: ["worker.error": "\(error)"])
            return try await writeIsolatingFailures(items, on: connection, retriedConflict: true)
        } catch  where Self.isRecordAttributable(error) && items.count > 1 {
            let middle = items.count / 2
            logger.debug("splitting a failing batch", metadata: ["worker.batch_size": "\(items.count)"])
            return try await writeIsolatingFailures(Array(items[..<middle]), on: connection)
                + writeIsolatingFailures(Array(items[middle...]), on: connection)
        } catch  where Self.isRecordAttributable(error) {
            guard case .event(let consumed) = items[0], let state = (error as? PostgresError)?.sqlState else {
                throw error
            }
            let reason = "sqlstate_\(state.rawValue)"
            logger.error(
                "event refused by the store; dead-lettered",
                metadata: ["worker.reason": "\(reason)", "dossier.code": "\(consumed.event.subject.rawValue)"])
            let letter = DeadLetter(
                topic: consumed.topic, partition: consumed.partition, offset: consumed.offset, key: consumed.key,
                value: consumed.bytes, errorClass: "store_refused", reason: reason, consumedAt: consumed.consumedAt)
            _ = try await write([.deadLetter(letter)], on: connection)
            return [.deadLettered(reason: reason)]
        }
    }

    private func write(_ items: [BatchItem], on connection: PostgresConnection) async throws -> [EventOutcome] {
        let writer = writer
        var events: [ConsumedEvent] = []
        var letters: [DeadLetter] = []
        for item in items {
            switch item {
            case .event(let event): events.append(event)
            case .deadLetter(let letter): letters.append(letter)
            }
        }
        let (toWrite, deadLetters) = (events, letters)
        let started = ContinuousClock.now
        let outcomes = try await connection.withTransaction(retrying: retryPolicy) { session in
            try writer.write(toWrite, deadLetters: deadLetters, in: session)
        }
        metrics.recordBatch(
            events: toWrite, outcomes: outcomes, deadLetters: deadLetters, transaction: ContinuousClock.now - started)
        return outcomes
    }

    /// One line per event that did not simply apply (rejected, dead-lettered, triaged), with its dossier code and
    /// correlation id so a support desk can follow it; applied events are counted, not logged.
    private func logRefusals(_ items: [BatchItem], _ outcomes: [EventOutcome]) {
        let events = items.compactMap { item -> ConsumedEvent? in
            if case .event(let event) = item { return event }
            return nil
        }
        for (event, outcome) in zip(events, outcomes) {
            let reason: String
            switch outcome {
            case .rejected(let rejection): reason = rejection.reason
            case .deadLettered(let why): reason = why
            case .triaged(let why): reason = why
            case .applied, .duplicate, .held: continue
            }
            logger.notice(
                "event not applied",
                metadata: [
                    "dossier.code": "\(event.event.subject.rawValue)",
                    "correlation.id": "\(event.event.correlationID ?? "-")", "event.outcome": "\(outcome.metricLabel)",
                    "event.reason": "\(reason)", "kafka.partition": "\(event.partition)",
                    "kafka.offset": "\(event.offset)",
                ])
        }
        for item in items {
            guard case .deadLetter(let letter) = item else { continue }
            logger.notice(
                "record dead-lettered",
                metadata: [
                    "event.reason": "\(letter.reason)", "event.error_class": "\(letter.errorClass)",
                    "kafka.partition": "\(letter.partition)", "kafka.offset": "\(letter.offset)",
                ])
        }
    }

    /// Turns the consumer's notices into metrics and log lines: rebalances, librdkafka's errors (a broker down, a
    /// partition's fetch failing) and failed offset commits, and, from statistics, each partition's lag and
    /// committed offset.
    private static func observe(_ event: KafkaClientEvent, metrics: WorkerMetrics, logger: Logger) {
        switch event {
        case .assigned(let partitions):
            metrics.recordRebalance("assigned")
            logger.info("partitions assigned", metadata: [KafkaLoggingKeys.count: "\(partitions.count)"])
        case .revoked(let partitions, let lost):
            metrics.recordRebalance(lost ? "lost" : "revoked")
            logger.info(
                lost ? "partitions lost" : "partitions revoked",
                metadata: [KafkaLoggingKeys.count: "\(partitions.count)"])
            metrics.forgetConsumerPartitions(partitions)
        case .statistics(let json):
            for partition in ConsumerStatistics.partitions(in: json) { metrics.setConsumerPartition(partition) }
        case .error(let error):
            metrics.recordKafkaError(client: "consumer", error, logger: logger)
        case .committed(let error?):
            // A failed offset commit (during a rebalance, typically) only delays lag tools: PostgreSQL's positions
            // stay authoritative.
            metrics.recordKafkaError(client: "consumer", error, logger: logger, level: .notice)
        case .committed(nil): break
        }
    }

    /// Failures a record's own data can cause: data exceptions (class 22), integrity violations (23) and program
    /// limits such as an oversized row (54). Only these split a batch and dead-letter a record; anything else (a
    /// missing table, a bug, an outage) is retried with backoff, so a broken deployment never empties a topic into
    /// the dead-letter queue.
    static func isRecordAttributable(_ error: any Error) -> Bool {
        guard let state = (error as? PostgresError)?.sqlState else { return false }
        return ["22", "23", "54"].contains(state.class)
    }

    /// Failures that clear by themselves: the connection, a failover, serialization failures and deadlocks,
    /// resource shortages (class 53) and operator intervention (class 57).
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        if error.isConnectionProblem || error.isTransactionRetriable || error.code == .closed { return true }
        guard let state = error.sqlState else { return false }
        return state.class == "53" || state.class == "57" || state.class == "58" || state == .readOnlySQLTransaction
    }

    /// Full-jitter exponential backoff: 100 ms doubling to 30 s.
    static func backoff(afterAttempt attempt: Int) -> Duration {
        let ceiling = min(100 * (1 << min(attempt - 1, 9)), 30_000)
        return .milliseconds(Int.random(in: ceiling / 2...ceiling))
    }

    private func letter(_ message: KafkaMessage, errorClass: String, reason: String) -> DeadLetter {
        DeadLetter(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value, errorClass: errorClass, reason: reason, consumedAt: message.consumedAt)
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

/// One consumed record in a batch: an event to apply, or a record already known to be dead.
private enum BatchItem {
    case event(ConsumedEvent)
    case deadLetter(DeadLetter)
}

/// One lane's share of a batch: its records, and what each decoded to, in order.
struct LaneShare<Item: Sendable>: Sendable {
    var messages: [KafkaMessage] = []
    var items: [Item] = []

    /// The records at `indices`, with their items.
    func subset(_ indices: [Int]) -> LaneShare {
        LaneShare(messages: indices.map { messages[$0] }, items: indices.map { items[$0] })
    }
}

/// Lets a revocation wait until no batch is being decoded or written (and their offsets stored). Only the
/// consumer's poll thread ever blocks here; the processing tasks only count under a lock.
private final class InFlightBatch: Sendable {
    private struct State {
        var batches = 0
        var waiter: DispatchSemaphore?
    }

    private let state = Mutex(State())

    func begin() {
        state.withLock { $0.batches += 1 }
    }

    func end() {
        let waiter = state.withLock { state -> DispatchSemaphore? in
            state.batches -= 1
            guard state.batches == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.signal()
    }

    /// Blocks the calling (poll) thread until no batch is in progress, for at most 20 s.
    func waitUntilIdle() {
        let semaphore = DispatchSemaphore(value: 0)
        let mustWait = state.withLock { state -> Bool in
            guard state.batches > 0 else { return false }
            state.waiter = semaphore
            return true
        }
        if mustWait { _ = semaphore.wait(timeout: .now() + 20) }
    }
}

extension KafkaMessage {
    /// When the consumer handed the record out, as a date.
    fileprivate var consumedAt: Date? {
        consumedAtMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }
}
