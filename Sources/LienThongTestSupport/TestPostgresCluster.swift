import Foundation
public import LienThongPostgres
public import Logging
import Synchronization

/// The PostgreSQL server the integration tests use: a throwaway cluster started once per test process, or the
/// server named by `LIENTHONG_TEST_DATABASE_URL`.
///
/// The throwaway cluster is created with `initdb` in a temporary directory (as the `postgres` user when the
/// tests run as root, since PostgreSQL refuses root), listens on 127.0.0.1 at a free port with a private socket
/// directory, and runs with `fsync=on` and synchronous commits, so durability is what production gets. It is
/// stopped and removed when the process exits, whether tests passed or failed; a cluster left behind by a
/// killed test process is removed by the next run.
public struct TestPostgresCluster: Sendable {
    /// A URL of the maintenance database, for creating and dropping test databases.
    public let adminURL: String
    /// The throwaway cluster's port on 127.0.0.1, one of ``TestPorts`` (nil for an existing server).
    public let listeningPort: Int?
    /// Whether this is the throwaway cluster (false for `LIENTHONG_TEST_DATABASE_URL`).
    public var isThrowaway: Bool { listeningPort != nil }

    /// Whether tests use the existing server named by `LIENTHONG_TEST_DATABASE_URL` instead of a throwaway cluster.
    public static var usesExistingServer: Bool { existingServerURL != nil }

    private static var existingServerURL: String? {
        ProcessInfo.processInfo.environment["LIENTHONG_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The cluster of this test process, started on first use.
    public static func shared() async throws -> TestPostgresCluster {
        try await sharedStart.value
    }

    private static let sharedStart = Task { try await start() }

    private static func start() async throws -> TestPostgresCluster {
        if let url = existingServerURL {
            return TestPostgresCluster(adminURL: url, listeningPort: nil)
        }
        try await removeStaleClusters()
        let binaries = try await postgresBinaryDirectory()
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("lienthong-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let data = root + "/data"
        let socket = root + "/socket"
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        try "\(getpid())".write(toFile: root + "/owner.pid", atomically: true, encoding: .utf8)
        if getuid() == 0 {
            try await ChildProcess.run(["chown", "-R", "postgres:postgres", root])
        }
        registerCleanup(root: root)
        // --no-sync only skips initdb's own fsyncs of the template files; the server runs with fsync=on.
        try await ChildProcess.run(
            [
                "\(binaries)/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                "--no-sync",
            ],
            asPostgresUser: true)
        var lastError: (any Error)?
        for port in TestPorts.random(count: 8) {
            do {
                try await startServer(
                    binaries: binaries, data: data, socket: socket, port: port, log: root + "/server.log")
                return TestPostgresCluster(
                    adminURL: "postgresql://postgres@127.0.0.1:\(port)/postgres", listeningPort: port)
            } catch {
                lastError = error  // most likely the port was taken: try another
            }
        }
        throw lastError!
    }

    /// Starts `postgres` in the foreground as our child and waits until it accepts connections.
    ///
    /// Not `pg_ctl start`: Foundation's `Process` learns of a child's exit through an inherited descriptor that
    /// the daemonized postmaster would keep open, so awaiting `pg_ctl` never returns.
    private static func startServer(binaries: String, data: String, socket: String, port: Int, log: String) async throws
    {
        let command = [
            "\(binaries)/postgres", "-D", data, "-p", "\(port)", "-k", socket, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=300", "-c", "shared_buffers=256MB",
        ]
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + command : command
        server.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        server.standardOutput = logHandle
        server.standardError = logHandle
        try server.run()
        let configuration = PostgresConfiguration(connectionString: "postgresql://postgres@127.0.0.1:\(port)/postgres")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard server.isRunning else {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw ChildProcess.Failure(command: command, status: server.terminationStatus, output: output)
            }
            if let connection = try? await PostgresConnection.connect(
                configuration: configuration, logger: Logger(label: "lienthong.test"))
            {
                await connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ChildProcess.Failure(
            command: command, status: -1, output: "PostgreSQL did not accept connections within 60 s")
    }

    /// Creates a fresh, empty database and returns its configuration.
    public func createDatabase(logger: Logger = Logger(label: "lienthong.test")) async throws -> TestDatabase {
        let name = "lt_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(connectionString: adminURL), logger: logger)
        try await admin.run { try $0.runScript("CREATE DATABASE \(PostgresQuery.quoteIdentifier(name))") }
        await admin.close()
        var components = URLComponents(string: adminURL)!
        components.path = "/" + name
        return TestDatabase(name: name, url: components.string!, cluster: self)
    }

    fileprivate func dropDatabase(_ name: String, logger: Logger) async throws {
        let admin = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(connectionString: adminURL), logger: logger)
        try await admin.run {
            try $0.runScript("DROP DATABASE IF EXISTS \(PostgresQuery.quoteIdentifier(name)) WITH (FORCE)")
        }
        await admin.close()
    }

    private static func postgresBinaryDirectory() async throws -> String {
        if let bindir = try? await ChildProcess.run(["pg_config", "--bindir"]).trimmingCharacters(
            in: .whitespacesAndNewlines),
            FileManager.default.isExecutableFile(atPath: bindir + "/initdb")
        {
            return bindir
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bindir = "/usr/lib/postgresql/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bindir + "/initdb") { return bindir }
        }
        throw ChildProcess.Failure(
            command: ["initdb"], status: 127,
            output: "PostgreSQL server binaries not found: install the postgresql package")
    }

    /// Stops and removes clusters whose owning test process no longer exists.
    private static func removeStaleClusters() async throws {
        let temporary = FileManager.default.temporaryDirectory.path
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for entry in entries where entry.hasPrefix("lienthong-pg-") {
            let root = temporary + "/" + entry
            guard let owner = try? String(contentsOfFile: root + "/owner.pid", encoding: .utf8),
                let pid = Int32(owner.trimmingCharacters(in: .whitespacesAndNewlines)),
                kill(pid, 0) != 0 && errno == ESRCH
            else { continue }
            removeCluster(root: root)
        }
    }

    private static func registerCleanup(root: String) {
        clustersToRemove.withLock { $0.append(root) }
        atexit {
            for root in clustersToRemove.withLock({ $0 }) { TestPostgresCluster.removeCluster(root: root) }
        }
    }

    /// Immediate shutdown (SIGQUIT to the postmaster), then removal of the directory.
    private static func removeCluster(root: String) {
        if let pidFile = try? String(contentsOfFile: root + "/data/postmaster.pid", encoding: .utf8),
            let pid = pidFile.split(separator: "\n").first.flatMap({ Int32($0) })
        {
            kill(pid, SIGQUIT)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
        }
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// Clusters this process started, removed at exit.
private let clustersToRemove = Mutex<[String]>([])

/// A database created for one test or suite.
public struct TestDatabase: Sendable {
    /// The database name.
    public let name: String
    /// Its connection URL.
    public let url: String
    let cluster: TestPostgresCluster

    /// The configuration to connect to it.
    public var configuration: PostgresConfiguration {
        PostgresConfiguration(connectionString: url)
    }

    /// Connects to it.
    public func connect(logger: Logger = Logger(label: "lienthong.test")) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: configuration, logger: logger)
    }

    /// Drops it, disconnecting remaining sessions.
    public func drop(logger: Logger = Logger(label: "lienthong.test")) async throws {
        try await cluster.dropDatabase(name, logger: logger)
    }
}

/// Runs `body` with a fresh database, dropped afterwards even when `body` throws.
public func withTestDatabase<T>(_ body: (TestDatabase) async throws -> T) async throws -> T {
    let database = try await TestPostgresCluster.shared().createDatabase()
    do {
        let value = try await body(database)
        try await database.drop()
        return value
    } catch {
        try? await database.drop()
        throw error
    }
}
