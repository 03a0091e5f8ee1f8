internal import CRdKafka
import Synchronization

import class Foundation.Thread

/// Owns one `rd_kafka_t` handle, consumer or producer.
///
/// Every caller reaches the handle through ``withHandle(_:)``, which counts active calls so that ``destroy()``
/// never frees the handle under a running call. librdkafka documents its public API as thread-safe, which is
/// what lets several threads hold the handle at once.
final class RDKafkaClient: Sendable {
    enum Kind {
        case producer
        case consumer

        var rawValue: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    private struct Lifecycle {
        var activeCalls = 0
        var isDestroyed = false
    }

    private let handle: SendableOpaquePointer
    /// A consumer's queue, onto which the main queue is forwarded (`rd_kafka_poll_set_consumer`), kept to wake
    /// the poll thread with `rd_kafka_queue_yield`.
    private let consumerQueue: SendableOpaquePointer?
    private let lifecycle = Mutex(Lifecycle())

    private init(handle: OpaquePointer, consumerQueue: OpaquePointer?) {
        self.handle = SendableOpaquePointer(pointer: handle)
        self.consumerQueue = consumerQueue.map(SendableOpaquePointer.init)
    }

    /// Creates the handle from a built configuration; librdkafka takes the configuration on success only.
    /// - Throws: ``KafkaError`` with code `.clientCreation` when librdkafka refuses the configuration.
    static func make(kind: Kind, configuration: RDKafkaConfig) throws(KafkaError) -> RDKafkaClient {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let conf = configuration.release()
        guard let handle = rd_kafka_new(kind.rawValue, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            let reason = String(errorBuffer: errorBuffer)
            throw KafkaError(code: .clientCreation, reason: reason)
        }
        guard kind == .consumer else { return RDKafkaClient(handle: handle, consumerQueue: nil) }
        // Errors, statistics and rebalances then arrive in order on the thread that polls the consumer.
        rd_kafka_poll_set_consumer(handle)
        return RDKafkaClient(handle: handle, consumerQueue: rd_kafka_queue_get_consumer(handle))
    }

    deinit {
        destroy()
    }

    /// Runs `body` with the live handle.
    /// - Throws: ``KafkaError`` with code `.closed` after ``destroy()``, or what `body` throws.
    func withHandle<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        let isLive = lifecycle.withLock { state in
            guard !state.isDestroyed else { return false }
            state.activeCalls += 1
            return true
        }
        guard isLive else { throw KafkaError(code: .closed, reason: "the Kafka client is closed") }
        defer { lifecycle.withLock { $0.activeCalls -= 1 } }
        return try body(handle.pointer)
    }

    /// Wakes a thread blocked in `rd_kafka_consumer_poll` on this consumer.
    func wakeConsumerPoll() {
        guard let consumerQueue else { return }
        try? withHandle { _ in rd_kafka_queue_yield(consumerQueue.pointer) }
    }

    /// Destroys the handle once every running ``withHandle(_:)`` call has returned. Idempotent.
    ///
    /// - Important: blocking (it waits for librdkafka's threads); never call it on the cooperative pool.
    func destroy() {
        let shouldDestroy = lifecycle.withLock { state in
            if state.isDestroyed { return false }
            state.isDestroyed = true
            return true
        }
        guard shouldDestroy else { return }
        // Shutdown path only: wait for calls that were already inside `withHandle` when the flag flipped.
        while lifecycle.withLock({ $0.activeCalls }) > 0 {
            Thread.sleep(forTimeInterval: 0.001)
        }
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue.pointer) }
        rd_kafka_destroy(handle.pointer)
    }
}
