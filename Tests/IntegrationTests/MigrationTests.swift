import Foundation
import LienThongPostgres
import LienThongTestSupport
import Logging
import Testing

@Suite("Migrations against the throwaway server")
struct MigrationTests {
    /// Writes migrations whose second step is slow and has a visible side effect, to widen any race.
    private func makeMigrationDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lienthong-migrations-\(UUID())")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = [
            "0001_create_dossier.sql": "CREATE TABLE dossier (code text PRIMARY KEY, status int4 NOT NULL);",
            "0002_seed_slowly.sql":
                "SELECT pg_sleep(1);\nCREATE TABLE IF NOT EXISTS seeds (n int4);\nINSERT INTO seeds VALUES (1);",
            "0003_index.sql": "CREATE INDEX dossier_status ON dossier (status);",
        ]
        for (name, sql) in files {
            try sql.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        return directory
    }

    /// Starts `lienthong` with `arguments`; the returned task ends with its exit status.
    private func startLienThong(
        _ arguments: [String], environment: [String: String]? = nil
    ) throws -> Task<Int32, Never> {
        let process = Process()
        process.executableURL = lienThongExecutable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return Task {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    continuation.resume(returning: process.terminationStatus)
                }
            }
        }
    }

    @Test func twoProcessesMigratingAtOnceApplyEachMigrationOnce() async throws {
        try await withTestDatabase { database in
            let directory = try makeMigrationDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let arguments = ["migrate", "--database-url", database.url, "--directory", directory]
            let runs = try (0..<2).map { _ in try startLienThong(arguments) }
            for run in runs { #expect(await run.value == 0) }
            let connection = try await database.connect()
            let versions = try await connection.query(
                "SELECT version FROM lienthong_schema_migrations ORDER BY version"
            )
            .map { try $0.decode(Int.self, at: 0) }
            #expect(versions == [1, 2, 3])
            #expect(try await connection.query("SELECT count(*) FROM seeds")[0].decode(Int.self, at: 0) == 1)
            await connection.close()
        }
    }

    @Test func libpqEnvironmentVariablesAloneLocateTheServer() async throws {
        try await withTestDatabase { database in
            let directory = try makeMigrationDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let url = try #require(URLComponents(string: database.url))
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = nil
            environment["PGHOST"] = url.host
            environment["PGPORT"] = url.port.map(String.init)
            environment["PGUSER"] = url.user
            environment["PGDATABASE"] = database.name
            let run = try startLienThong(["migrate", "--directory", directory], environment: environment)
            #expect(await run.value == 0)
            let connection = try await database.connect()
            #expect(
                try await connection.query("SELECT count(*) FROM lienthong_schema_migrations")[0].decode(
                    Int.self, at: 0) == 3)
            await connection.close()
        }
    }

    @Test func anEditedAppliedMigrationIsRefused() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let logger = Logger(label: "test")
            let original = try PostgresMigrator(migrations: [
                .init(version: 1, name: "t", sql: "CREATE TABLE t (a int4);")
            ])
            #expect(try await original.migrate(on: connection, logger: logger) == [1])
            #expect(try await original.migrate(on: connection, logger: logger) == [])
            let edited = try PostgresMigrator(migrations: [
                .init(version: 1, name: "t", sql: "CREATE TABLE t (b int4);")
            ])
            let error = try await #require(throws: PostgresError.self) {
                try await edited.migrate(on: connection, logger: logger)
            }
            #expect(error.code == .migration)
            await connection.close()
        }
    }

    @Test func aFailingMigrationLeavesNoTraceAndKeepsEarlierOnes() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let migrator = try PostgresMigrator(migrations: [
                .init(version: 1, name: "ok", sql: "CREATE TABLE a (x int4);"),
                .init(version: 2, name: "broken", sql: "CREATE TABLE b (x int4); SELECT * FROM missing;"),
            ])
            await #expect(throws: PostgresError.self) {
                try await migrator.migrate(on: connection, logger: Logger(label: "test"))
            }
            let versions = try await connection.query("SELECT version FROM lienthong_schema_migrations").map {
                try $0.decode(Int.self, at: 0)
            }
            #expect(versions == [1])
            let tableB = try await connection.query("SELECT to_regclass('b') IS NULL")[0].decode(Bool.self, at: 0)
            #expect(tableB)
            await connection.close()
        }
    }

    /// Keys searched for every event compare as bytes whatever the cluster's default collation (the throwaway
    /// cluster's is C, a production cluster's often en_US.UTF-8, whose comparisons cost a `strcoll` each).
    @Test func identifierKeysCompareAsBytes() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await PostgresMigrator.load(directory: migrationsDirectory).migrate(
                on: connection, logger: Logger(label: "test"))
            let collations = try await connection.query(
                """
                SELECT table_name || '.' || column_name, coalesce(collation_name, 'default')
                FROM information_schema.columns
                WHERE (table_name, column_name) IN (('dossier', 'code'), ('dossier_history', 'dossier'),
                                                    ('inbox', 'event_id'), ('held_event', 'event_id'),
                                                    ('held_event', 'dossier'))
                ORDER BY 1
                """
            ).map { try $0.decode((String, String).self) }
            #expect(
                collations.map { "\($0.0)=\($0.1)" } == [
                    "dossier.code=C", "dossier_history.dossier=C", "held_event.dossier=C", "held_event.event_id=C",
                    "inbox.event_id=C",
                ])
            await connection.close()
        }
    }
}
