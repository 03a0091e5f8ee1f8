import ArgumentParser
import LienThongPostgres
import LienThongSettings
import Logging

import class Foundation.ProcessInfo

/// `lienthong migrate`: applies the SQL migrations once, safe to run from every instance of a fleet at once.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (exactly once across a fleet, under an advisory lock).",
        discussion: """
            Reads NNNN_name.sql files from --directory and applies those not yet recorded in \
            lienthong_schema_migrations, each in its own transaction. The connection comes from \
            --database-url or, when it is absent, from DATABASE_URL and libpq's PG* variables.
            """
    )

    @Option(
        name: .long,
        help:
            "A libpq conninfo string or postgresql:// URI (key database.url; $LIENTHONG_DATABASE_URL, $DATABASE_URL, PG*)."
    )
    var databaseURL: String?

    @Option(help: "A YAML configuration file (default: $LIENTHONG_CONFIG); only database.url is read.")
    var config: String?

    @Option(name: .long, help: "The directory holding NNNN_name.sql migration files.")
    var directory: String = "Schemas/migrations"

    func run() async throws {
        var logger = Logger(label: "lienthong.migrate")
        logger.logLevel = .info
        let settings = try await SettingsSources(
            flags: databaseURL.map { ["database.url": $0] } ?? [:], configurationFile: config
        ).resolve()
        let url = settings.databaseURL
        let migrator = try PostgresMigrator.load(directory: directory)
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(connectionString: url), logger: logger)
        let applied = try await migrator.migrate(on: connection, logger: logger)
        await connection.close()
        print(
            applied.isEmpty
                ? "migrations: up to date" : "migrations applied: \(applied.map(String.init).joined(separator: ", "))")
    }
}
