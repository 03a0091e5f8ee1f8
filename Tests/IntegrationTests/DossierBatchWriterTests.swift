import Foundation
import LienThongDomain
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

private let received =
    #"{"procedure":"1.001193","commune":"00004","channel":"counter","applicant":{"name":"Nguyễn Văn An"}}"#

private func lifecycle(dossier: String = "001.00.80.H26-250702-0001", from offset: Int64 = 0) throws -> [ConsumedEvent]
{
    [
        try consumed("dossier.received", dossier: dossier, version: 1, data: received, offset: offset),
        try consumed(
            "dossier.status-changed", dossier: dossier, version: 2, data: #"{"status":4}"#, offset: offset + 1),
        try consumed(
            "dossier.result-attached", dossier: dossier, version: 3, data: #"{"documentId":"KQ-1"}"#, offset: offset + 2
        ),
        try consumed(
            "dossier.status-changed", dossier: dossier, version: 4, data: #"{"status":9}"#, offset: offset + 3),
    ]
}

@Suite("Dossier batch writer against the throwaway PostgreSQL")
struct DossierBatchWriterTests {
    let writer = DossierBatchWriter(consumerGroup: "workers", referenceData: testReferenceData)

    @Test func aBatchAppliesStateHistoryOutboxInboxAndPositionInOneTransaction() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let batch = try lifecycle() + lifecycle(dossier: "001.00.80.H26-250702-0002", from: 4)
            let writer = writer
            let outcomes = try await connection.withTransaction { try writer.write(batch, in: $0) }
            #expect(outcomes.allSatisfy { if case .applied = $0 { true } else { false } })

            let states = try await connection.query(
                "SELECT code, status, version, history_sequence FROM dossier ORDER BY code"
            )
            .map { try $0.decode((String, Int32, Int64, Int64).self) }
            #expect(states.map(\.1) == [9, 9] && states.map(\.2) == [4, 4] && states.map(\.3) == [4, 4])
            let byTopic = try await connection.query("SELECT topic, count(*) FROM outbox GROUP BY topic").map {
                try $0.decode((String, Int).self)
            }
            #expect(
                Dictionary(uniqueKeysWithValues: byTopic)
                    == ["dossier.status": 6, "dossier.work.commune": 6, "portal.sync": 8],
                """
                per dossier: three status changes (received, processing, resolved), three work items (process, step, \
                return the result), a portal record for every event
                """)
            let payload = try await connection.query(
                "SELECT outbox_json(payload) FROM outbox WHERE topic = 'dossier.status' ORDER BY batch_id, ordinal LIMIT 1"
            )[0].decode(PostgresJSONB.self, at: 0)
            #expect(payload.text.contains(#""statusName": "received""#))
            // Packed: one row per shard the batch touched, each dossier's records in the order they were queued.
            let rows = try await connection.query(
                "SELECT shard, record_count FROM outbox_batch ORDER BY id"
            ).map { try $0.decode((Int32, Int32).self) }
            #expect(Set(rows.map(\.0)).count == rows.count && (1...2).contains(rows.count))
            #expect(rows.map(\.1).reduce(0, +) == 20)
            let statusOrder = try await connection.query(
                """
                SELECT dossier, outbox_json(payload)->>'dossierversion' FROM outbox WHERE topic = 'dossier.status'
                ORDER BY batch_id, ordinal
                """
            ).map { try $0.decode((String, String).self) }
            for dossier in Set(statusOrder.map(\.0)) {
                #expect(statusOrder.filter { $0.0 == dossier }.map(\.1) == ["1", "2", "4"])
            }
            let eventIDs = try await connection.query(
                "SELECT event_id FROM outbox WHERE dossier = '001.00.80.H26-250702-0001' ORDER BY batch_id, ordinal"
            ).map { try $0.decode(String.self, at: 0) }
            let code = "001.00.80.H26-250702-0001"
            #expect(
                eventIDs == [
                    "status-\(code)-1", "work-\(code)-1-001.00.80.H26-process", "portal-\(code)-1", "status-\(code)-2",
                    "work-\(code)-2-001.00.80.H26-process_step", "portal-\(code)-2", "portal-\(code)-3",
                    "status-\(code)-4", "work-\(code)-4-001.00.80.H26-return_result", "portal-\(code)-4",
                ], "derived from the dossier version and destination, so a redelivery derives the same ids")
            #expect(
                try await connection.query("SELECT next_offset FROM consumer_position")[0].decode(Int64.self, at: 0)
                    == 8)
            #expect(
                try await count("SELECT count(*) FROM inbox WHERE outcome = 'applied'", on: connection) == 8)
            await connection.close()
        }
    }

    /// Twelve dossiers' events interleaved in one batch: each `outbox_batch` row holds exactly the records of the
    /// dossiers `outbox_shard()` puts in its shard, in the order they were queued.
    @Test func recordsArePackedOneRowPerShardInTheOrderTheyWereQueued() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let lifecycles = try (1...12).map { index in
                try lifecycle(dossier: "001.00.80.H26-250702-\(1000 + index)", from: Int64(index * 4))
            }
            let batch = (0..<4).flatMap { step in lifecycles.map { $0[step] } }
            let writer = writer
            _ = try await connection.withTransaction { try writer.write(batch, in: $0) }
            let misplaced = try await count(
                "SELECT count(*) FROM outbox_batch b, unnest(b.dossiers) AS d WHERE outbox_shard(d) <> b.shard",
                on: connection)
            #expect(misplaced == 0)
            let rows = try await connection.query("SELECT shard, record_count FROM outbox_batch ORDER BY id").map {
                try $0.decode((Int32, Int32).self)
            }
            #expect(Set(rows.map(\.0)).count == rows.count, "one row per shard")
            #expect(rows.count > 2 && rows.map(\.1).reduce(0, +) == 120)
            let queued = try await connection.query(
                "SELECT dossier, event_id FROM outbox ORDER BY batch_id, ordinal"
            ).map { try $0.decode((String, String).self) }
            for dossier in Set(queued.map(\.0)) {
                let versions = queued.filter { $0.0 == dossier && $0.1.hasPrefix("status-") }.map(\.1.last)
                #expect(versions == ["1", "2", "4"], "\(dossier)'s status records in version order")
            }
            await connection.close()
        }
    }

    @Test func aRedeliveredBatchIsAllDuplicatesAndChangesNothing() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let batch = try lifecycle()
            let writer = writer
            _ = try await connection.withTransaction { try writer.write(batch, in: $0) }
            let again = try await connection.withTransaction { try writer.write(batch + batch, in: $0) }
            #expect(again.allSatisfy { $0 == .duplicate })
            #expect(try await count("SELECT count(*) FROM dossier_history", on: connection) == 4)
            #expect(try await count("SELECT count(*) FROM outbox", on: connection) == 10)
            await connection.close()
        }
    }

    @Test func anOrdinaryStatusChangeIsAHeapOnlyUpdateAndResolutionIsNot() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let writer = writer
            let batch = try lifecycle()
            /// Writes `events` in one transaction and returns its [updates, heap-only updates] of the dossier table
            /// (the session's counters also hold earlier transactions not yet flushed to the statistics: the
            /// difference is this transaction's).
            func updates(_ events: ArraySlice<ConsumedEvent>) async throws -> [Int] {
                try await connection.withTransaction { session in
                    let counters: PostgresQuery = """
                        SELECT ARRAY[pg_stat_get_xact_tuples_updated('dossier'::regclass),
                                     pg_stat_get_xact_tuples_hot_updated('dossier'::regclass)]
                        """
                    let before = try session.query(counters)[0].decode([Int].self)
                    _ = try writer.write(Array(events), in: session)
                    let after = try session.query(counters)[0].decode([Int].self)
                    return zip(after, before).map { $0 - $1 }
                }
            }
            _ = try await updates(batch[0..<1])  // received: the row is inserted, its clock started
            // Processing (4) changes the status, version, holder and hash: no indexed column, no predicate column.
            #expect(try await updates(batch[1..<2]) == [1, 1])
            // Resolution sets resolved_at, which the open-clock indexes' predicates name: a regular update.
            #expect(try await updates(batch[2..<4]) == [1, 0])
            await connection.close()
        }
    }

    @Test func aRejectedEventIsRecordedAndLaterEventsStillApply() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let writer = writer
            let batch = [
                try consumed("dossier.received", version: 1, data: received, offset: 0),
                // 2 → 9 skips processing: not in the portal's table.
                try consumed("dossier.status-changed", version: 2, id: "bad", data: #"{"status":9}"#, offset: 1),
                // Version 1 again under another id: a duplicate, which leaves the dossier as it was.
                try consumed("dossier.received", version: 1, id: "again", data: received, offset: 2),
                try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 3),
            ]
            let outcomes = try await connection.withTransaction { try writer.write(batch, in: $0) }
            #expect(outcomes[1] == .rejected(.invalidTransition(StatusTransition(from: .received, to: .resolved))))
            #expect(outcomes[2] == .duplicate)
            guard case .applied(let outcome) = outcomes[3] else {
                Issue.record("the next valid event must apply")
                return
            }
            #expect(outcome.state.status == .processing)
            let rejected = try await connection.query("SELECT outcome, reason FROM inbox WHERE event_id = 'bad'")[0]
            #expect(try rejected.decode((String, String).self) == ("rejected", "invalid_transition"))
            await connection.close()
        }
    }

    @Test func aHistoryRowKeepsItsEventsVersionBesideItsOwnSequence() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let writer = writer
            // A portal acknowledgement is outside the version sequence: its row is the 5th, of version 2.
            let acknowledged = try consumed(
                "portal.sync-acknowledged", version: 2, id: "ack-2", data: #"{"version":2}"#, offset: 4)
            _ = try await connection.withTransaction { try writer.write(try lifecycle() + [acknowledged], in: $0) }
            let rows = try await connection.query(
                "SELECT sequence, version, event_id FROM dossier_history ORDER BY sequence"
            ).map { try $0.decode((Int64, Int64, String).self) }
            #expect(rows.map(\.0) == [1, 2, 3, 4, 5])
            #expect(rows.map(\.1) == [1, 2, 3, 4, 2])
            #expect(rows.last?.2 == "ack-2")
            #expect(try await AuditVerification.verify(on: connection).broken.isEmpty)
            await connection.close()
        }
    }

    @Test func theStoredHistoryChainVerifiesAndATamperedRowIsFound() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let writer = writer
            let batch = try lifecycle()
            _ = try await connection.withTransaction { try writer.write(Array(batch.prefix(2)), in: $0) }
            _ = try await connection.withTransaction { try writer.write(Array(batch.dropFirst(2)), in: $0) }

            #expect(
                try await AuditVerification.verify(on: connection).broken.isEmpty, "the chain spans both batches")
            try await connection.query("UPDATE dossier_history SET status = 10 WHERE sequence = 3")
            let tampered = try await AuditVerification.verify(on: connection)
            #expect(tampered.broken == [.init(dossier: "001.00.80.H26-250702-0001", firstBrokenSequence: 3)])
            #expect(tampered.entriesChecked == 4)
            // A removed tail is found against the dossier row's last hash.
            try await connection.query("UPDATE dossier_history SET status = 4 WHERE sequence = 3")
            try await connection.query("DELETE FROM dossier_history WHERE sequence = 4")
            #expect(
                try await AuditVerification.verify(dossier: "001.00.80.H26-250702-0001", on: connection).broken
                    == [.init(dossier: "001.00.80.H26-250702-0001", firstBrokenSequence: 4)])
            await connection.close()
        }
    }
}
