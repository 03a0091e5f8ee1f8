import Dispatch
import Synchronization

/// Runs one-shot blocking librdkafka calls (a synchronous commit, `rd_kafka_committed`, `rd_kafka_flush`) on a
/// serial dispatch queue instead of Swift's cooperative pool, resuming the awaiting task when the call returns.
struct BlockingCallQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, KafkaError>) async throws(KafkaError) -> T {
        let result = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
        return try result.get()
    }
}

/// A one-shot signal that tasks can await, e.g. the end of a poll thread.
final class CompletionSignal: Sendable {
    private struct State {
        var isDone = false
        var nextWaiterID = 0
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var expiredWaiterIDs: Set<Int> = []
    }

    private let state = Mutex(State())

    func signal() {
        let waiters = state.withLock { state in
            state.isDone = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Waits for the signal or `timeout`; returns whether the signal came.
    func wait(timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.expiredWaiterIDs.insert(id)
                    return nil
                }
                return waiter
            }?.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let immediate = state.withLock { state -> Bool? in
                if state.isDone { return true }
                if state.expiredWaiterIDs.remove(id) != nil { return false }
                state.waiters[id] = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }
}

/// The time of a poll thread's last loop iteration, for liveness checks.
final class PollHeartbeat: Sendable {
    private let origin = ContinuousClock.now
    private let elapsedNanoseconds = Atomic<Int64>(0)

    func beat() {
        let (seconds, attoseconds) = (ContinuousClock.now - origin).components
        elapsedNanoseconds.store(seconds * 1_000_000_000 + attoseconds / 1_000_000_000, ordering: .relaxed)
    }

    var age: Duration {
        let last = origin + .nanoseconds(elapsedNanoseconds.load(ordering: .relaxed))
        return ContinuousClock.now - last
    }
}
