import LienThongPostgres
import LienThongTestSupport
import Logging

/// A connection to `database` with the repository's migrations applied.
func migratedConnection(_ database: TestDatabase) async throws -> PostgresConnection {
    let connection = try await database.connect()
    try await PostgresMigrator.load(directory: migrationsDirectory).migrate(
        on: connection, logger: Logger(label: "lienthong.test"))
    return connection
}

/// The single integer a counting query returns.
func count(_ sql: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
    try await connection.query(sql)[0].decode(Int.self, at: 0)
}
