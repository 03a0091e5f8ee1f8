/// When and how often to retry a whole transaction.
public struct PostgresRetryPolicy: Sendable {
    /// Attempts in all, the first included. Default: 5.
    public var maxAttempts = 5
    /// The first backoff; each next one doubles, with full jitter. Default: 20 ms.
    public var initialBackoff: Duration = .milliseconds(20)
    /// The longest backoff. Default: 2 s.
    public var maxBackoff: Duration = .seconds(2)
    /// Also retry after a lost connection. Only safe when the transaction is idempotent (e.g. guarded by an
    /// inbox table), because a lost COMMIT reply leaves its outcome unknown. Default: false.
    public var retriesConnectionLoss = false

    /// The default policy: serialization failures and deadlocks, 5 attempts.
    public init() {}

    func shouldRetry(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        return error.isTransactionRetriable || (retriesConnectionLoss && error.isConnectionProblem)
    }

    func backoff(afterAttempt attempt: Int) -> Duration {
        let exponential = initialBackoff * (1 << min(attempt - 1, 20))
        let capped = min(exponential, maxBackoff)
        let cappedNanoseconds =
            capped.components.seconds * 1_000_000_000 + capped.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(cappedNanoseconds, 1)))
    }
}

extension PostgresConnection {
    /// Runs `body` in a transaction, retrying the whole transaction after serialization failures and deadlocks
    /// (and, if the policy says so, lost connections) with jittered exponential backoff.
    /// - Throws: the last error once attempts run out, or the first error that is not retriable.
    @discardableResult
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolation = .readCommitted,
        retrying policy: PostgresRetryPolicy,
        _ body: @escaping @Sendable (PostgresSession) throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withTransaction(isolation: isolation, body)
            } catch  where attempt < policy.maxAttempts && policy.shouldRetry(error) {
                try await Task.sleep(for: policy.backoff(afterAttempt: attempt))
                attempt += 1
            }
        }
    }
}
