import Foundation
import LienThongTestSupport
import Testing

@Suite("lienthong dev: the whole system with the simulated Hanoi, as a user runs it")
struct DevCommandTests {
    @Test(.enabled(if: !TestKafka.usesRealBrokers, "runs its own embedded broker"))
    func aShortRunShowsProgressDrainsAndPrintsASummaryPerLevel() throws {
        let output = Pipe()
        let dev = try runLienThong(
            [
                "dev", "--duration-seconds", "12", "--speed", "3000", "--workers", "2", "--dossiers-per-hour", "40",
                "--reference-data", referenceDataDirectory, "--migrations", migrationsDirectory, "--http-port", "0",
            ], output: output)
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        dev.waitUntilExit()
        #expect(dev.terminationStatus == 0, "\(text)")
        #expect(text.contains("events/s | lag"), "a progress line")
        for level in ["commune", "department", "ministry_agency"] {
            #expect(text.split(separator: "\n").contains { $0.hasPrefix(level) }, "a summary row for \(level)")
        }
        let filed = text.firstMatch(of: /dossiers filed (\d+), records sent (\d+), events recorded (\d+)/)
        #expect((filed.map { Int($0.1)! } ?? 0) > 20, "the simulated points filed dossiers")
        #expect((filed.map { Int($0.3)! } ?? 0) > 40, "the fleet recorded their events")
        #expect(text.contains("outbox backlog 0"), "the fleet drained before the summary")
        #expect(text.contains("exit status [0, 0]"), "the workers stopped gracefully")
    }

    /// A worker of the fleet that cannot start (its HTTP port is taken, here by this process's throwaway
    /// PostgreSQL) is reported while the run goes on, with its exit status and the end of its log; the summary names
    /// the surfaces of the worker that served to the end. Both ports are below the ephemeral range, so the next
    /// worker's port cannot be taken by some connection's local port.
    @Test(
        .enabled(
            if: !TestPostgresCluster.usesExistingServer,
            "takes the throwaway cluster's port"))
    func aWorkerThatStopsEarlyIsReportedWithTheEndOfItsLog() async throws {
        let taken = try #require(try await TestPostgresCluster.shared().listeningPort)
        try #require(TestPorts.reserve(taken + 1), "the next worker's port is free in this process")
        var environment = ProcessInfo.processInfo.environment
        environment["LIENTHONG_HTTP_HOST"] = "127.0.0.1"
        let result = try runLienThongToEnd(
            [
                "dev", "--duration-seconds", "6", "--speed", "3000", "--workers", "2", "--dossiers-per-hour", "40",
                "--reference-data", referenceDataDirectory, "--migrations", migrationsDirectory,
                "--http-port", String(taken),
            ], environment: environment)
        #expect(result.status == 0, "the run goes on with the other worker: \(result.output)")
        #expect(result.output.contains("worker 0 stopped early (exit status 1)"), "\(result.output)")
        #expect(result.output.contains("configuration key http.port"), "the log's last lines say why")
        let endpoints = result.output.split(separator: "\n").first { $0.hasPrefix("while it ran:") } ?? ""
        #expect(endpoints.contains("127.0.0.1:\(taken + 1)/v1/dossiers"), "worker 1 served: \(result.output)")
        #expect(!endpoints.contains("127.0.0.1:\(taken)/"), "worker 0 served nothing: \(endpoints)")
    }
}
