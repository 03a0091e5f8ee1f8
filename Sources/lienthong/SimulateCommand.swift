import ArgumentParser
import Foundation
import LienThongSimulation
import LienThongWorker
import Logging
import Synchronization

/// `lienthong simulate`: the simulated Hanoi alone, against any brokers.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Send simulated Hanoi traffic to Kafka and answer portal.sync records (the load generator alone).",
        discussion: """
            The same simulator `lienthong dev` runs, pointed at any brokers: dossier events to --topic, keyed by \
            dossier code, as simulated time passes --speed times faster than real time from the next Monday \
            07:00; a national-portal stand-in consumes --portal-sync-topic and sends acknowledgements back. Stops \
            after --duration-seconds or on SIGINT/SIGTERM.
            """
    )

    @Option(help: "Kafka bootstrap servers (default: $LIENTHONG_KAFKA_BROKERS).")
    var brokers: String?

    @Option(help: "The inbound topic.")
    var topic = "dossier.events"

    @Option(help: "The national portal connector's topic, answered by the stand-in.")
    var portalSyncTopic = "portal.sync"

    @Option(help: "Real seconds to run (0: until a signal).")
    var durationSeconds = 60

    @Option(help: "Simulated seconds per real second.")
    var speed = 600.0

    @Option(help: "New dossiers per working hour across Hanoi (simulated).")
    var dossiersPerHour = 600.0

    @Option(help: "The random seed.")
    var seed: UInt64 = 2025

    @Option(help: "The reference-data directory.")
    var referenceData = "Schemas/reference-data"

    func run() async throws {
        var logger = Logger(label: "lienthong.simulate")
        logger.logLevel = .warning
        guard let brokers = brokers ?? ProcessInfo.processInfo.environment["LIENTHONG_KAFKA_BROKERS"], !brokers.isEmpty
        else { throw ValidationError("missing Kafka brokers: pass --brokers or set LIENTHONG_KAFKA_BROKERS") }
        let tables: ReferenceData
        do {
            tables = try ReferenceData.load(directory: referenceData)
        } catch {
            throw ValidationError("--reference-data: \(error)")
        }
        let start = DevCommand.mondayMorning(after: Date(), calendar: tables.calendar)
        var profile = TrafficProfile()
        profile.dossiersPerWorkingHour = dossiersPerHour
        let driver = try SimulationDriver(
            traffic: UpstreamTraffic(
                referenceData: tables.router, calendar: tables.calendar, profile: profile, seed: seed, start: start),
            simulatedStart: start, speed: speed, bootstrapServers: brokers, inboundTopic: topic,
            portalSyncTopic: portalSyncTopic, logger: logger)
        let simulating = Task { try await driver.run() }
        let interrupted = Mutex(false)
        let signals = Task {
            await waitForTerminationSignal()
            interrupted.withLock { $0 = true }
        }
        let deadline = durationSeconds > 0 ? ContinuousClock.now + .seconds(durationSeconds) : nil
        var tick = 0
        while !interrupted.withLock({ $0 }), deadline.map({ ContinuousClock.now < $0 }) ?? true {
            try? await Task.sleep(for: .seconds(1))
            tick += 1
            if tick % 5 == 0 {
                print(
                    "\(DevCommand.describe(driver.now)): \(driver.dossiersCreated) dossiers, \(driver.sentCount) records sent"
                )
            }
        }
        signals.cancel()
        simulating.cancel()
        _ = try? await simulating.value
        await driver.close()
        print("sent \(driver.sentCount) records for \(driver.dossiersCreated) dossiers")
    }
}
