import ArgumentParser
import Foundation
import LienThongSimulation
import LienThongWorker
import Logging

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

    @OptionGroup var simulation: SimulationOptions

    @Option(help: "The reference-data directory.")
    var referenceData = "Schemas/reference-data"

    func run() async throws {
        var logger = Logger(label: "lienthong.simulate")
        logger.logLevel = .warning
        let driver = try simulation.driver(
            tables: try loadReferenceData(referenceData), brokers: try resolveBrokers(brokers), inboundTopic: topic,
            portalSyncTopic: portalSyncTopic, logger: logger)
        let simulating = Task { try await driver.run() }
        await runUntilStopped(durationSeconds: simulation.durationSeconds) { seconds in
            if seconds % 5 == 0 {
                print(
                    "\(DevCommand.describe(driver.now)): \(driver.dossiersCreated) dossiers, \(driver.sentCount) records sent"
                )
            }
        }
        simulating.cancel()
        _ = try? await simulating.value
        await driver.close()
        print("sent \(driver.sentCount) records for \(driver.dossiersCreated) dossiers")
    }
}
