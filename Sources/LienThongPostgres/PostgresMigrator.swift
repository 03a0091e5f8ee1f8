public import Logging

import class Foundation.FileManager
import struct Foundation.URL

/// One versioned migration.
public struct PostgresMigration: Sendable, Hashable {
    /// Applied in increasing order; unique.
    public var version: Int
    /// A human-readable name (the file name without the version).
    public var name: String
    /// The SQL script (may hold several statements).
    public var sql: String

    /// Creates a migration.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// A 64-bit FNV-1a digest of the script, recorded to detect a migration edited after it was applied.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Applies versioned SQL migrations exactly once, even when a whole fleet starts at the same moment.
///
/// Under a session advisory lock, it creates its bookkeeping table if needed, skips versions already recorded
/// (refusing any whose script changed since), and applies each pending migration in its own transaction
/// together with its bookkeeping row.
public struct PostgresMigrator: Sendable {
    /// The migrations, sorted by version.
    public let migrations: [PostgresMigration]
    /// The bookkeeping table. Default: `lienthong_schema_migrations`.
    public var table = "lienthong_schema_migrations"
    /// The advisory lock key. Default: a constant derived from "lienthong.migrations".
    public var lockKey: Int64 = 0x4C54_4D49_4752_0001

    /// Creates a migrator.
    /// - Throws: ``PostgresError`` `.migration` for duplicate versions.
    public init(migrations: [PostgresMigration]) throws(PostgresError) {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw PostgresError(code: .migration, message: "two migrations have version \(next.version)")
        }
        self.migrations = sorted
    }

    /// Loads `NNNN_name.sql` files from a directory.
    /// - Throws: ``PostgresError`` `.migration` for a file without a numeric version prefix or a duplicate.
    public static func load(directory: String) throws(PostgresError) -> PostgresMigrator {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        } catch {
            throw PostgresError(code: .migration, message: "cannot read migrations directory \(directory)")
        }
        var migrations: [PostgresMigration] = []
        for file in names {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard let versionText = parts.first, let version = Int(versionText) else {
                throw PostgresError(
                    code: .migration, message: "migration file \(file) does not start with a version number")
            }
            let url = URL(fileURLWithPath: directory).appendingPathComponent(file)
            guard let sql = try? String(contentsOf: url, encoding: .utf8) else {
                throw PostgresError(code: .migration, message: "cannot read migration file \(file)")
            }
            migrations.append(
                PostgresMigration(version: version, name: parts.count > 1 ? String(parts[1]) : "", sql: sql))
        }
        return try PostgresMigrator(migrations: migrations)
    }

    /// Applies the pending migrations.
    /// - Returns: the versions this call applied (empty when another process already did).
    /// - Throws: ``PostgresError`` `.migration` when an applied migration's script changed, or the error of a
    ///   failing script (its transaction is rolled back; earlier migrations stay applied).
    @discardableResult
    public func migrate(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        let migrator = self
        return try await connection.run { session in try migrator.migrate(session, logger: logger) }
    }

    private func migrate(_ session: PostgresSession, logger: Logger) throws -> [Int] {
        try session.query("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? session.query("SELECT pg_advisory_unlock(\(lockKey))") }
        try session.runScript(
            """
            CREATE TABLE IF NOT EXISTS \(PostgresQuery.quoteIdentifier(table)) (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: String] = [:]
        for row in try session.query("SELECT version, checksum FROM \(identifier: table)") {
            let (version, checksum) = try row.decode((Int, String).self)
            applied[version] = checksum
        }
        var appliedNow: [Int] = []
        for migration in migrations {
            if let checksum = applied[migration.version] {
                guard checksum == migration.checksum else {
                    throw PostgresError(
                        code: .migration, message: "migration \(migration.version) changed after it was applied")
                }
                continue
            }
            try session.runScript("BEGIN")
            do {
                try session.runScript(migration.sql)
                try session.query(
                    "INSERT INTO \(identifier: table) (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))"
                )
                try session.runScript("COMMIT")
            } catch {
                try? session.runScript("ROLLBACK")
                throw error
            }
            logger.info(
                "migration applied",
                metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            appliedNow.append(migration.version)
        }
        return appliedNow
    }
}
