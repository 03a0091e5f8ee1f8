import Foundation
import LienThongPostgres
import LienThongTestSupport
import Logging
import Testing

@Suite("PostgreSQL connections, failover, notifications against the throwaway server")
struct PostgresConnectionTests {
    @Test func aTerminatedBackendFailsOneCallAndTheNextReconnects() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let administrator = try await database.connect()
            let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(Int32.self, at: 0)
            try await administrator.query("SELECT pg_terminate_backend(\(pid))")
            let error = try await #require(throws: PostgresError.self) { try await connection.query("SELECT 1::int4") }
            #expect(error.isConnectionProblem)
            let newPID = try await connection.query("SELECT pg_backend_pid()")[0].decode(Int32.self, at: 0)
            #expect(newPID != pid)
            await connection.close()
            await administrator.close()
        }
    }

    @Test func multiHostConninfoSkipsAnUnreachableHost() async throws {
        try await withTestDatabase { database in
            let url = try #require(URLComponents(string: database.url))
            let port = try #require(url.port)
            let conninfo =
                "host=127.0.0.1,127.0.0.1 port=1,\(port) dbname=\(database.name) user=postgres target_session_attrs=read-write"
            let connection = try await PostgresConnection.connect(
                configuration: PostgresConfiguration(connectionString: conninfo), logger: Logger(label: "test"))
            let serverPort = try await connection.query("SELECT current_setting('port')::int4")[0].decode(
                Int32.self, at: 0)
            #expect(Int(serverPort) == port)
            await connection.close()
        }
    }

    @Test func anUnreachableServerFailsWithConnectionFailed() async throws {
        let error = try await #require(throws: PostgresError.self) {
            try await PostgresConnection.connect(
                configuration: PostgresConfiguration(
                    connectionString: "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"),
                logger: Logger(label: "test"))
        }
        #expect(error.code == .connectionFailed)
    }

    @Test func listenerReceivesNotifications() async throws {
        try await withTestDatabase { database in
            let listener = try PostgresNotificationListener(
                configuration: database.configuration, channels: ["outbox"], logger: Logger(label: "test"))
            let connection = try await database.connect()
            try await connection.query("SELECT pg_notify(\("outbox"), \("dossier.status"))")
            var iterator = listener.events.makeAsyncIterator()
            let event = await iterator.next()
            guard case .notification(let notification) = event else {
                Issue.record("expected a notification, got \(String(describing: event))")
                return
            }
            #expect(notification.channel == "outbox")
            #expect(notification.payload == "dossier.status")
            await listener.stop()
            await connection.close()
        }
    }
}
