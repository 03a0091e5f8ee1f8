import Foundation
import LienThongHTTP
import Logging
import Synchronization
import Testing

/// Collects the lines a handler writes.
private final class Lines: Sendable {
    let lines = Mutex<[String]>([])

    func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    var objects: [[String: Any]] {
        lines.withLock { $0 }.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
}

@Suite("JSON logs and health answers")
struct LoggingAndHealthTests {
    @Test func eachEventIsOneJSONObjectWithSeverityMessageCorrelationAndDossier() throws {
        let lines = Lines()
        var logger = Logger(label: "lienthong.worker") { JSONLogHandler(label: $0, write: lines.append) }
        logger.logLevel = .info
        logger[metadataKey: "worker.id"] = "w-1"
        logger.debug("not written below the level")
        logger.info(
            "event applied",
            metadata: [
                "correlation.id": "c-1", "dossier.code": "001.00.80.H26-250702-0001",
                "applicant.cccd": "001203004567", "database.password": "s3cret",
            ])
        logger.warning("applicant 001203004567 refused")
        let objects = lines.objects
        #expect(objects.count == 2)
        #expect(lines.lines.withLock { $0 }.allSatisfy { !$0.contains("\n") })
        let info = objects[0]
        #expect(info["severity"] as? String == "INFO")
        #expect(info["message"] as? String == "event applied")
        #expect(info["logger"] as? String == "lienthong.worker")
        #expect(info["correlation.id"] as? String == "c-1")
        #expect(info["dossier.code"] as? String == "001.00.80.H26-250702-0001")
        #expect(info["worker.id"] as? String == "w-1")
        #expect(info["applicant.cccd"] as? String == "********4567")
        #expect(info["database.password"] == nil, "secret keys are dropped")
        #expect((info["time"] as? String)?.hasPrefix("20") == true)
        #expect((info["time"] as? String)?.hasSuffix("Z") == true, "UTC, said so")
        #expect(objects[1]["severity"] as? String == "WARNING")
        #expect(objects[1]["message"] as? String == "applicant ********4567 refused")
        #expect(objects[1]["source"] != nil, "warnings say where they come from")
    }

    @Test func livenessFollowsHeartbeatsAndReadinessEndsWhenStopping() async {
        let age = Mutex(Duration.seconds(1))
        let monitor = HealthMonitor(heartbeatLimit: .seconds(30)) {
            HealthMonitor.Readiness(isReady: true)
        }
        monitor.watch("consumer") { age.withLock { $0 } }
        monitor.watch("producer") { .milliseconds(100) }
        #expect(monitor.stalledLoops().isEmpty)
        age.withLock { $0 = .seconds(31) }
        #expect(monitor.stalledLoops() == ["consumer"])
        #expect(await monitor.readiness().isReady)
        monitor.beginStopping()
        let readiness = await monitor.readiness()
        #expect(!readiness.isReady)
        #expect(readiness.reasons == ["stopping"])
    }
}
