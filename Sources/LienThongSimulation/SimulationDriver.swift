public import Foundation
import LienThongKafka
public import Logging
import Synchronization

/// Runs an ``UpstreamTraffic`` against real brokers: sends what falls due as simulated time passes (``speed``
/// times faster than real time) and answers the national portal's `portal.sync` records.
public final class SimulationDriver: Sendable {
    private let traffic: Mutex<UpstreamTraffic>
    private let producer: KafkaProducer
    private let inboundTopic: String
    private let portalSyncTopic: String
    private let bootstrapServers: String
    private let logger: Logger
    private let sent = Atomic<Int>(0)
    /// The simulated instant at real start.
    public let simulatedStart: Date
    /// Simulated seconds per real second.
    public let speed: Double
    private let realStart = ContinuousClock.now

    /// Creates a driver with its own producer.
    public init(
        traffic: UpstreamTraffic, simulatedStart: Date, speed: Double, bootstrapServers: String,
        inboundTopic: String = "dossier.events", portalSyncTopic: String = "portal.sync", logger: Logger
    ) throws {
        self.traffic = Mutex(traffic)
        self.simulatedStart = simulatedStart
        self.speed = speed
        self.bootstrapServers = bootstrapServers
        self.inboundTopic = inboundTopic
        self.portalSyncTopic = portalSyncTopic
        self.logger = logger
        self.producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: bootstrapServers), logger: logger)
    }

    /// The simulated time now.
    public var now: Date {
        let elapsed = ContinuousClock.now - realStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return simulatedStart.addingTimeInterval(seconds * speed)
    }

    /// Records sent so far.
    public var sentCount: Int { sent.load(ordering: .relaxed) }

    /// Dossiers the simulated points have filed so far.
    public var dossiersCreated: Int { traffic.withLock { $0.dossiersCreated } }

    /// Sends due records every `tick` and answers the portal until cancelled.
    public func run(tick: Duration = .milliseconds(100)) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.sendDueRecords(every: tick) }
            group.addTask { try await self.answerPortal() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Stops and flushes the producer.
    public func close() async {
        await producer.close()
    }

    private func sendDueRecords(every tick: Duration) async throws {
        while !Task.isCancelled {
            let instant = now
            let records = traffic.withLock { $0.advance(to: instant) }
            try await send(records)
            try await Task.sleep(for: tick)
        }
    }

    private func answerPortal() async throws {
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: bootstrapServers, groupID: "lienthong-portal-stand-in")
        configuration.sessionTimeout = .seconds(6)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [portalSyncTopic])
        await withTaskCancellationHandler {
            for await batch in consumer.batches {
                let instant = now
                let answers = traffic.withLock { traffic in
                    batch.flatMap { message in message.value.map { traffic.answerPortalSync($0, at: instant) } ?? [] }
                }
                try? await send(answers)
            }
        } onCancel: {
            Task { await consumer.close(timeout: .seconds(5)) }
        }
    }

    private func send(_ records: [SimulatedRecord]) async throws {
        guard !records.isEmpty else { return }
        let messages = records.map {
            KafkaProducerMessage(topic: inboundTopic, key: $0.key, value: $0.value)
        }
        for result in await producer.send(messages) { _ = try result.get() }
        sent.add(records.count, ordering: .relaxed)
    }
}
