import Glibc
public import Logging
import Synchronization

import class Foundation.Thread

/// A notification received through LISTEN.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public var channel: String
    /// The payload (empty when NOTIFY gave none).
    public var payload: String
    /// The process id of the notifying backend.
    public var serverProcessID: Int32
}

/// What a listener reports.
public enum PostgresListenerEvent: Sendable, Hashable {
    /// A notification arrived.
    case notification(PostgresNotification)
    /// The connection broke and was re-established, LISTEN included: notifications sent in between were lost,
    /// so a consumer that uses them as wake-ups should look for work now.
    case reconnected
}

/// Listens on PostgreSQL channels with a dedicated connection and thread.
///
/// The thread waits on the connection's socket with `poll(2)` (no busy polling) and reconnects when the
/// connection breaks. Notifications are buffered up to 10,000; beyond that the oldest are dropped, which is
/// harmless for wake-up signals, the use they serve here.
public final class PostgresNotificationListener: Sendable {
    /// The events, ending when the listener stops.
    public let events: AsyncStream<PostgresListenerEvent>

    private let isStopRequested = Atomic<Bool>(false)
    private let finished: Mutex<[CheckedContinuation<Void, Never>]?> = Mutex([])

    /// Connects and starts listening on `channels`.
    /// - Throws: ``PostgresError`` if the first connection or LISTEN fails.
    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) throws(PostgresError) {
        let connection = try LibPQConnection.connect(parameters: configuration.libpqParameters)
        let listenScript = channels.map { "LISTEN \(PostgresQuery.quoteIdentifier($0));" }.joined()
        try connection.executeScript(listenScript)
        let (stream, continuation) = AsyncStream.makeStream(
            of: PostgresListenerEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        events = stream
        let loop = ListenLoop(
            connection: connection, listenScript: listenScript, continuation: continuation, logger: logger)
        let thread = Thread { [self] in
            loop.run(until: { self.isStopRequested.load(ordering: .relaxed) })
            continuation.finish()
            let waiters = finished.withLock { waiters in
                defer { waiters = nil }
                return waiters ?? []
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "lienthong-postgres-listener"
        thread.start()
    }

    /// Stops listening, closes the connection and ends ``events``.
    public func stop() async {
        isStopRequested.store(true, ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let isFinished = finished.withLock { waiters in
                waiters?.append(continuation)
                return waiters == nil
            }
            if isFinished { continuation.resume() }
        }
    }
}

/// The listener thread's body; confined to that thread.
private struct ListenLoop: @unchecked Sendable {
    let connection: LibPQConnection
    let listenScript: String
    let continuation: AsyncStream<PostgresListenerEvent>.Continuation
    let logger: Logger

    func run(until isStopRequested: () -> Bool) {
        defer { connection.close() }
        while !isStopRequested() {
            var descriptor = pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)
            // Wake at least every 200 ms to notice a stop request.
            let ready = poll(&descriptor, 1, 200)
            if ready < 0 && errno != EINTR { recover() }
            guard ready > 0 else { continue }
            do {
                for notification in try connection.consumeNotifications() {
                    continuation.yield(.notification(notification))
                }
            } catch {
                recover()
            }
        }
    }

    private func recover() {
        do {
            try connection.reconnectIfNeeded()
            try connection.executeScript(listenScript)
            logger.debug("postgres listener reconnected")
            continuation.yield(.reconnected)
        } catch {
            logger.debug("postgres listener reconnect failed", metadata: ["postgres.error": "\(error)"])
            usleep(500_000)  // the server is down: retry twice a second
        }
    }
}
