import Foundation
public import LienThongKafka
public import Logging

/// Reads an inbound topic from its start to its current end, for reconciliation: the end offset of every
/// partition and the event id at each offset (records without a readable id have none).
public struct InboundTopicScan: Sendable {
    /// The log end offset of each partition when the scan started.
    public var endOffsets: [KafkaTopicPartition: Int64] = [:]
    /// The event id at each offset.
    public var eventIDsByOffset: [KafkaTopicPartition: [Int64: String]] = [:]

    /// The log end offset of every partition of `topic`, asked with a consumer of its own.
    public static func endOffsets(
        topic: String, bootstrapServers: String, properties: [String: String] = [:], logger: Logger
    ) async throws -> [KafkaTopicPartition: Int64] {
        let consumer = try makeConsumer(bootstrapServers: bootstrapServers, properties: properties, logger: logger)
        do {
            let ends = try await consumer.endOffsets(of: topic)
            await consumer.close()
            return ends
        } catch {
            await consumer.close()
            throw error
        }
    }

    /// Scans `topic` with a consumer of its own (a throwaway group that commits nothing).
    /// - Parameters:
    ///   - endOffsets: where to stop in each partition; nil: the ends when the scan starts.
    ///   - keep: which offsets' event ids to keep (nil: all), e.g. only those without an inbox row, so a large topic
    ///     is reconciled without holding every event id.
    /// - Throws: ``KafkaError``, or `CancellationError` if the end is not reached within `timeout`.
    public static func read(
        topic: String, bootstrapServers: String, properties: [String: String] = [:], timeout: Duration = .seconds(120),
        endOffsets: [KafkaTopicPartition: Int64]? = nil,
        keepingEventIDsWhere keep: (@Sendable (KafkaTopicPartition, Int64) -> Bool)? = nil, logger: Logger
    ) async throws -> InboundTopicScan {
        let consumer = try makeConsumer(bootstrapServers: bootstrapServers, properties: properties, logger: logger)
        var scan = InboundTopicScan()
        if let endOffsets {
            scan.endOffsets = endOffsets
        } else {
            scan.endOffsets = try await consumer.endOffsets(of: topic)
        }
        let unread = Set(scan.endOffsets.filter { $0.value > 0 }.keys)
        guard !unread.isEmpty else {
            await consumer.close()
            return scan
        }
        try consumer.subscribe(topics: [topic])
        let deadline = ContinuousClock.now + timeout
        let ends = scan.endOffsets
        let reading = Task { [scan] () -> (scan: InboundTopicScan, reachedEnd: Bool) in
            var scan = scan
            var remaining = unread
            for await batch in consumer.batches {
                for message in batch {
                    if message.offset < ends[message.topicPartition] ?? 0,
                        keep?(message.topicPartition, message.offset) ?? true,
                        let value = message.value, let id = Self.eventID(value)
                    {
                        scan.eventIDsByOffset[message.topicPartition, default: [:]][message.offset] = id
                    }
                    if message.nextOffset >= ends[message.topicPartition] ?? 0 {
                        remaining.remove(message.topicPartition)
                    }
                }
                if remaining.isEmpty { break }
            }
            return (scan, remaining.isEmpty)
        }
        let watchdog = Task {
            try? await Task.sleep(until: deadline)
            if !Task.isCancelled { await consumer.close() }
        }
        let result = await reading.value
        watchdog.cancel()
        await consumer.close()
        // The watchdog closed the consumer before every partition was read to its end.
        guard result.reachedEnd else { throw CancellationError() }
        return result.scan
    }

    /// A consumer in a throwaway group that commits nothing.
    private static func makeConsumer(
        bootstrapServers: String, properties: [String: String], logger: Logger
    ) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: bootstrapServers, groupID: "lienthong-reconcile-\(UUID().uuidString)")
        configuration.properties = properties
        configuration.autoCommitInterval = nil
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// The `id` attribute of a JSON event, if it has one.
    static func eventID(_ value: [UInt8]) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any])?["id"] as? String
    }
}
