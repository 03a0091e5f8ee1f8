import Foundation
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

@Suite("lienthong status, verify-audit, triage list and dlq list against the throwaway PostgreSQL")
struct InspectionCommandTests {
    /// Runs the executable and returns its exit status and output.
    @Test func operatorsSeeADossierItsAuditChainTriageAndDeadLetters() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let writer = DossierBatchWriter(consumerGroup: "workers", referenceData: testReferenceData)
            let batch = [
                try consumed("dossier.received", version: 1, data: openingData(procedure: "2.001837"), offset: 0),
                try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 1),
                try consumed("dossier.status-changed", version: 3, data: #"{"status":10}"#, offset: 2),
                try consumed(
                    "dossier.received", dossier: "001.00.80.H26-250620-0009", version: 1,
                    data: openingData(procedure: "1.001193", commune: "00007"), offset: 3,
                    time: "2025-06-20T09:00:00+07:00"),
            ]
            _ = try await connection.withTransaction { try writer.write(batch, in: $0) }
            let url = ["--database-url", database.url]

            let status = try runLienThongToEnd(["status", "001.00.80.H26-250702-0001"] + url)
            #expect(status.status == 0)
            #expect(status.output.contains("status     4  version 2"))
            #expect(status.output.contains("holder     000.00.01.H26"), "the Department of Justice holds it")
            #expect(status.output.contains("#2 v2"))
            #expect(
                try runLienThongToEnd(["status", "001.00.80.H26-250702-0404"] + url).status == 1, "an unknown dossier")

            let audit = try runLienThongToEnd(["verify-audit"] + url)
            #expect(audit.status == 0, "\(audit.output)")
            #expect(audit.output.contains("verified 2 dossiers, 3 history entries"))
            try await connection.query("UPDATE dossier_history SET event_type = 'forged' WHERE sequence = 2")
            let forged = try runLienThongToEnd(["verify-audit"] + url)
            #expect(forged.status == 1)
            #expect(forged.output.contains("BROKEN 001.00.80.H26-250702-0001: broken at entry 2"))

            let triage = try runLienThongToEnd(["triage", "list"] + url)
            #expect(triage.output.contains("001.00.80.H26-250620-0009  split_pre_merger_unit  [00008 00025]"))
            let letters = try runLienThongToEnd(["dlq", "list"] + url)
            #expect(letters.output.contains("dossier.events/0@2  invalid_transition  invalid_transition"))
            #expect(!letters.output.contains("Nguyễn"), "no personal data in the listing")
            await connection.close()
        }
    }
}
