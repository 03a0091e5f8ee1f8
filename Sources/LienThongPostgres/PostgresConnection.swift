import Dispatch
public import Logging

/// A PostgreSQL connection over libpq whose blocking calls never run on Swift's cooperative pool.
///
/// Threading model: libpq calls block, so each connection owns a serial dispatch queue and every libpq call on
/// it runs there. The async methods enqueue a closure and suspend until it finishes. A closure given to
/// ``run(_:)`` or ``withTransaction(isolation:_:)`` runs synchronously on that queue with a ``PostgresSession``,
/// so the statements of one transaction run back to back with no interleaving and no thread hops.
///
/// A broken connection (server restart, failover, terminated backend) fails the running call with
/// `.connectionLost`; the next call reconnects with the same parameters (multi-host conninfo picks the new
/// primary). A transaction is never resumed across a reconnect: retry it whole (``withTransaction(isolation:retrying:_:)``).
public final class PostgresConnection: Sendable {
    private let queue: DispatchQueue
    private let confined: QueueConfined
    private let logger: Logger

    private init(queue: DispatchQueue, connection: LibPQConnection, logger: Logger) {
        self.queue = queue
        self.confined = QueueConfined(connection: connection)
        self.logger = logger
    }

    /// Connects.
    /// - Throws: ``PostgresError`` `.connectionFailed` with libpq's message (host, not password).
    public static func connect(
        configuration: PostgresConfiguration,
        logger: Logger
    ) async throws(PostgresError) -> PostgresConnection {
        let queue = DispatchQueue(label: "lienthong.postgres.connection")
        let parameters = configuration.libpqParameters
        let result = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(
                    returning: Result { () throws(PostgresError) in try LibPQConnection.connect(parameters: parameters)
                    }.map(QueueConfined.init))
            }
        }
        let connection = try result.get().connection
        logger.debug("postgres connected")
        return PostgresConnection(queue: queue, connection: connection, logger: logger)
    }

    /// Runs `body` on the connection's queue with exclusive use of the connection.
    /// - Throws: what `body` throws; ``PostgresError`` `.connectionFailed` if a broken connection cannot be
    ///   re-established first.
    @discardableResult
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        let confined = confined
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            queue.async {
                continuation.resume(
                    returning: Result {
                        try confined.connection.reconnectIfNeeded()
                        return try body(PostgresSession(connection: confined.connection))
                    })
            }
        }
        return try result.get()
    }

    /// Runs one statement; see ``PostgresSession/query(_:prepared:)``.
    @discardableResult
    public func query(_ query: PostgresQuery, prepared: Bool = false) async throws -> PostgresRows {
        try await run { try $0.query(query, prepared: prepared) }
    }

    /// Runs `body` inside a transaction: committed when `body` returns, rolled back when it throws.
    /// - Throws: what `body` throws, or the ``PostgresError`` of BEGIN or COMMIT (a serialization failure can
    ///   surface at COMMIT).
    @discardableResult
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolation = .readCommitted,
        _ body: @escaping @Sendable (PostgresSession) throws -> T
    ) async throws -> T {
        try await run { session in
            try session.runScript("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
            let value: T
            do {
                value = try body(session)
            } catch {
                if session.connection.isHealthy { try? session.runScript("ROLLBACK") }
                throw error
            }
            try session.runScript("COMMIT")
            return value
        }
    }

    /// Closes the connection after the calls already enqueued.
    public func close() async {
        let confined = confined
        await withCheckedContinuation { continuation in
            queue.async {
                confined.connection.close()
                continuation.resume()
            }
        }
    }
}

/// The libpq connection of a ``PostgresConnection``.
///
/// - Important: `@unchecked Sendable` because it is only touched inside closures running on the owning
///   connection's serial queue.
private final class QueueConfined: @unchecked Sendable {
    let connection: LibPQConnection

    init(connection: LibPQConnection) {
        self.connection = connection
    }
}
