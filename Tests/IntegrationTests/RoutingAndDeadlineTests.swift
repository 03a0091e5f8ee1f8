import Foundation
import LienThongDomain
import LienThongPostgres
import LienThongTestSupport
import LienThongWorker
import Logging
import Testing

/// Dates in Hanoi time.
private func hanoi(_ text: String) -> Date {
    ISO8601DateFormatter().date(from: text + "+07:00")!
}

@Suite("Routing, deadlines, version gaps and triage against the throwaway PostgreSQL")
struct RoutingAndDeadlineTests {
    let writer = DossierBatchWriter(consumerGroup: "workers", referenceData: testReferenceData)

    private func write(_ batch: [ConsumedEvent], on connection: PostgresConnection) async throws -> [EventOutcome] {
        let writer = writer
        return try await connection.withTransaction { try writer.write(batch, in: $0) }
    }

    /// Work items as (topic, key, action, step).
    private func workItems(on connection: PostgresConnection) async throws -> [[String]] {
        try await connection.query(
            """
            SELECT topic, key, outbox_json(payload)->>'action', coalesce(outbox_json(payload)->>'step', '-') FROM outbox
            WHERE topic LIKE 'dossier.work.%' ORDER BY batch_id, ordinal
            """
        ).map { row in try (0..<4).map { try row.decode(String.self, at: $0) } }
    }

    @Test func aDepartmentProcedureGoesToTheDepartmentAndItsResultBackToTheReceivingPoint() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let batch = [
                try consumed("dossier.received", version: 1, data: openingData(procedure: "2.001837"), offset: 0),
                try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 1),
                try consumed("dossier.status-changed", version: 3, data: #"{"status":9}"#, offset: 2),
                try consumed("dossier.status-changed", version: 4, data: #"{"status":10}"#, offset: 3),
            ]
            _ = try await write(batch, on: connection)
            let justice = "000.00.01.H26"
            #expect(
                try await workItems(on: connection) == [
                    ["dossier.work.department", justice, "process", "-"],
                    ["dossier.work.department", justice, "process_step", "0"],
                    ["dossier.work.commune", "001.00.80.H26", "return_result", "-"],
                ])
            let portal = try await connection.query(
                """
                SELECT outbox_json(payload)->>'kind', outbox_json(payload)->>'maTTHC', outbox_json(payload)->>'thoiDiem', outbox_json(payload)->>'donViXuLy',
                       outbox_json(payload)->>'trangThaiHoSo' FROM outbox WHERE topic = 'portal.sync' ORDER BY batch_id, ordinal
                """
            ).map { row in try (0..<5).map { try row.decode(String.self, at: $0) } }
            #expect(portal.count == 4, "every change reaches the national portal")
            #expect(portal[0] == ["create_or_update", "2.001837", "20250702081100", justice, "2"])
            #expect(portal[2][3] == "001.00.80.H26", "resolved: the receiving point holds the result")
            let row = try await connection.query(
                "SELECT holder, on_time_class, due_at > status_changed_at FROM dossier"
            )[0]
            #expect(try row.decode(String?.self, at: 0) == nil, "closed dossiers have no holder")
            #expect(try row.decode(String?.self, at: 1) == "early", "resolved on the day of receipt, due in 10 days")
            let resolvedEvent = try await connection.query(
                "SELECT outbox_json(payload)->'data'->>'onTimeClass' FROM outbox WHERE event_id = 'status-001.00.80.H26-250702-0001-3'"
            )[0].decode(String?.self, at: 0)
            #expect(resolvedEvent == "early")
            await connection.close()
        }
    }

    /// Received 2 July 2025, processing, then `status` (5 or 6) from Thursday 3 July to processing again on Thursday
    /// 10 July.
    private func pausedForAWeek(procedure: String, status: Int) throws -> [ConsumedEvent] {
        [
            try consumed("dossier.received", version: 1, data: openingData(procedure: procedure), offset: 0),
            try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 1),
            try consumed(
                "dossier.status-changed", version: 3, data: #"{"status":\#(status)}"#, offset: 2,
                time: "2025-07-03T08:00:00+07:00"),
            try consumed(
                "dossier.status-changed", version: 4, data: #"{"status":4}"#, offset: 3,
                time: "2025-07-10T08:00:00+07:00"),
        ]
    }

    /// Awaiting fees from Thursday 3 July to Thursday 10 July 2025: five working days (40 working hours), which
    /// push the due date back a calendar week only for a procedure whose catalogue entry says payment pauses the
    /// clock.
    @Test(arguments: [("1.004227", 5 * 8 * 3600, 7 * 86_400), ("1.004222", 0, 0)])
    func awaitingFeesPausesTheClockWhereTheProcedureSaysSo(
        procedure: String, pausedWorkingSeconds: Int, pushedBackSeconds: Int
    ) async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            _ = try await write(try pausedForAWeek(procedure: procedure, status: 6), on: connection)
            let row = try await connection.query(
                """
                SELECT extract(epoch FROM due_at - original_due_at)::int8, paused_working_seconds, paused_at IS NULL
                FROM dossier
                """
            )[0]
            #expect(try row.decode(Int.self, at: 0) == pushedBackSeconds)
            #expect(try row.decode(Int.self, at: 1) == pausedWorkingSeconds)
            #expect(try row.decode(Bool.self, at: 2), "the clock runs again")
            await connection.close()
        }
    }

    /// A supplement awaited from Thursday 3 July to Thursday 10 July 2025 (five working days) for a 7-working-day
    /// procedure received in Hanoi (province 01): restarting counts 7 working days from the resumption (due Monday
    /// 21 July, 08:00); extending pushes the first due date back a calendar week. Another province's override
    /// does not apply.
    @Test(
        arguments: [
            ([:], "2025-07-21 08:00:00"), (["01": .extendByPausedTime], "2025-07-18 08:11:00"),
            (["79": .extendByPausedTime], "2025-07-21 08:00:00"),
        ] as [([String: SLAResumePolicy], String)])
    func aSupplementResumesUnderTheReceivingProvincesPolicy(
        overrides: [String: SLAResumePolicy], due: String
    ) async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            var writer = writer
            writer.resumePolicyByProvince = try overrides.reduce(into: [:]) { $0[try ProvinceCode($1.key)] = $1.value }
            let batch = try pausedForAWeek(procedure: "1.004222", status: 5)
            _ = try await connection.withTransaction { [writer] in try writer.write(batch, in: $0) }
            let stored = try await connection.query(
                """
                SELECT to_char(due_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI:SS'),
                       to_char(original_due_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI:SS')
                FROM dossier
                """
            )[0]
            #expect(try stored.decode(String.self, at: 1) == "2025-07-11 08:11:00", "seven working days from receipt")
            #expect(try stored.decode(String.self, at: 0) == due)
            await connection.close()
        }
    }

    @Test func aMultiStepProcedureHandsTheDossierAlongItsChain() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            _ = try await write(
                [
                    try consumed("dossier.received", version: 1, data: openingData(procedure: "1.001776"), offset: 0),
                    try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 1),
                    try consumed("dossier.step-changed", version: 3, data: #"{"step":1}"#, offset: 2),
                    try consumed("dossier.step-changed", version: 4, data: #"{"step":2}"#, offset: 3),
                ], on: connection)
            let items = try await workItems(on: connection)
            #expect(items.first == ["dossier.work.commune", "001.00.80.H26", "process", "-"])
            #expect(
                Array(items.dropFirst()) == [
                    ["dossier.work.commune", "001.00.80.H26", "process_step", "0"],
                    ["dossier.work.commune", "001.00.81.H26", "process_step", "1"],
                    ["dossier.work.ministry", "000.00.72.H26", "process_step", "2"],
                ])
            let holder = try await connection.query("SELECT holder FROM dossier")[0].decode(String.self, at: 0)
            #expect(holder == "000.00.72.H26", "social insurance holds the last step")
            await connection.close()
        }
    }

    /// A three-step chain (1, 4 and 2 working days) received Wednesday 2 July 2025 at 08:11: step 0 is due Thursday
    /// 08:11; step 1, entered Thursday 10:00, is due Wednesday 9 July 10:00, and a supplement awaited from Wednesday
    /// 09:00 to Thursday 09:00 (one working day) moves it to Thursday 10 July 10:00. Each step deadline warns once,
    /// never while the clock is paused.
    @Test func aStepPastItsDeadlineWarnsOncePerStep() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let watcher = DeadlineWatcher(calendar: testReferenceData.calendar)
            func stepWarnings(at time: String) async throws -> Int {
                try await watcher.scan(at: hanoi(time), on: connection).warnings[.stepOverdue, default: 0]
            }
            func change(_ version: Int, _ type: String, _ data: String, at time: String) throws -> ConsumedEvent {
                try consumed(type, version: version, data: data, offset: Int64(version), time: time + "+07:00")
            }
            _ = try await write(
                [try consumed("dossier.received", version: 1, data: openingData(procedure: "1.001776"), offset: 1)],
                on: connection)
            #expect(try await stepWarnings(at: "2025-07-03T08:00:00") == 0)
            #expect(try await stepWarnings(at: "2025-07-03T09:00:00") == 1)
            #expect(try await stepWarnings(at: "2025-07-03T09:30:00") == 0, "once per step deadline")
            _ = try await write(
                [
                    try change(2, "dossier.status-changed", #"{"status":4}"#, at: "2025-07-03T09:45:00"),
                    try change(3, "dossier.step-changed", #"{"step":1}"#, at: "2025-07-03T10:00:00"),
                    try change(4, "dossier.status-changed", #"{"status":5}"#, at: "2025-07-09T09:00:00"),
                ], on: connection)
            #expect(try await stepWarnings(at: "2025-07-09T16:00:00") == 0, "paused")
            _ = try await write(
                [try change(5, "dossier.status-changed", #"{"status":4}"#, at: "2025-07-10T09:00:00")],
                on: connection)
            #expect(try await stepWarnings(at: "2025-07-10T09:55:00") == 0)
            #expect(try await stepWarnings(at: "2025-07-10T10:05:00") == 1)
            let warned = try await connection.query(
                """
                SELECT to_char(due_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'MM-DD HH24:MI') FROM sla_warning
                WHERE warning = 'step_overdue' ORDER BY due_at
                """
            ).map { try $0.decode(String.self, at: 0) }
            #expect(warned == ["07-03 08:11", "07-10 10:00"])
            let view = try await DossierReadModel(catalogue: testReferenceData.router.catalogue).dossier(
                "001.00.80.H26-250702-0001", on: connection)
            #expect(view?.step == 1)
            #expect(view?.stepDueAt == hanoi("2025-07-10T10:00:00"), "the status API shows the step deadline")
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM outbox WHERE topic = 'dossier.status'
                      AND outbox_json(payload)->'data'->>'warning' = 'step_overdue'
                    """, on: connection) == 2)
            await connection.close()
        }
    }

    @Test func aDossierNamingASplitPreMergerCommuneGoesToTriageOnce() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let dossier = "001.00.80.H26-250620-0001"
            let outcomes = try await write(
                [
                    try consumed(
                        "dossier.received", dossier: dossier, version: 1,
                        data: openingData(procedure: "1.001193", commune: "00007"), offset: 0,
                        time: "2025-06-20T09:00:00+07:00"),
                    try consumed(
                        "dossier.status-changed", dossier: dossier, version: 2, data: #"{"status":4}"#, offset: 1,
                        time: "2025-06-20T10:00:00+07:00"),
                ], on: connection)
            #expect(outcomes == [.triaged(reason: "split_pre_merger_unit"), .triaged(reason: "split_pre_merger_unit")])
            let triage = try await connection.query("SELECT reason, candidates FROM triage")
            #expect(triage.count == 1)
            #expect(try triage[0].decode(String.self, at: 0) == "split_pre_merger_unit")
            #expect(try triage[0].decode([String].self, at: 1) == ["00008", "00025"])
            #expect(
                try await count("SELECT count(*) FROM outbox WHERE topic = 'dossier.triage'", on: connection) == 1)
            #expect(try await workItems(on: connection).isEmpty, "no unit is guessed")
            let state = try await connection.query("SELECT status, holder FROM dossier")[0]
            #expect(try state.decode(Int32.self, at: 0) == 4, "the dossier itself is kept and moves on")
            #expect(try state.decode(String.self, at: 1) == "001.00.80.H26")
            await connection.close()
        }
    }

    @Test func anEventAheadOfItsVersionIsHeldAndAppliedWhenTheGapFills() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            let opening = openingData(procedure: "1.001193")
            let first = try await write(
                [
                    try consumed("dossier.received", version: 1, data: opening, offset: 0),
                    try consumed("dossier.status-changed", version: 3, data: #"{"status":9}"#, offset: 1),
                ], on: connection)
            #expect(first.last == .held)
            #expect(
                try await connection.query("SELECT outcome FROM inbox WHERE \"offset\" = 1")[0].decode(
                    String.self, at: 0) == "held")
            let second = try await write(
                [try consumed("dossier.status-changed", version: 2, data: #"{"status":4}"#, offset: 2)],
                on: connection)
            guard case .applied = second.first else {
                Issue.record("the missing version applies: \(second)")
                return
            }
            let state = try await connection.query("SELECT status, version FROM dossier")[0]
            let (status, version) = try state.decode((Int32, Int64).self)
            #expect(status == 9 && version == 3, "the held event followed")
            #expect(try await count("SELECT count(*) FROM held_event", on: connection) == 0)
            #expect(
                try await count("SELECT count(*) FROM inbox WHERE outcome = 'applied'", on: connection) == 3)

            // Out of order within one batch: nothing needs storing.
            let other = "001.00.80.H26-250702-0002"
            let sameBatch = try await write(
                [
                    try consumed("dossier.received", dossier: other, version: 1, data: opening, offset: 3),
                    try consumed(
                        "dossier.status-changed", dossier: other, version: 3, data: #"{"status":9}"#, offset: 4),
                    try consumed(
                        "dossier.status-changed", dossier: other, version: 2, data: #"{"status":4}"#, offset: 5),
                ], on: connection)
            #expect(sameBatch[1] == .held)
            #expect(try await count("SELECT count(*) FROM held_event", on: connection) == 0)
            #expect(
                try await connection.query("SELECT version FROM dossier WHERE code = \(other)")[0].decode(
                    Int64.self, at: 0) == 3)
            await connection.close()
        }
    }

    @Test func aGapThatNeverFillsGoesToTriageAfterTheHoldTime() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            _ = try await write(
                [
                    try consumed("dossier.received", version: 1, data: openingData(procedure: "1.001193"), offset: 0),
                    try consumed("dossier.status-changed", version: 4, data: #"{"status":9}"#, offset: 1),
                ], on: connection)
            var watcher = DeadlineWatcher(calendar: testReferenceData.calendar)
            watcher.gapHoldTime = .seconds(3600)
            #expect(try await watcher.scan(at: hanoi("2025-07-02T09:00:00"), on: connection).triagedGaps == 0)
            watcher.gapHoldTime = .zero
            #expect(try await watcher.scan(at: hanoi("2025-07-02T09:00:00"), on: connection).triagedGaps == 1)
            #expect(
                try await connection.query("SELECT outcome, reason FROM inbox WHERE \"offset\" = 1")[0].decode(
                    (String, String).self) == ("triaged", "version_gap"))
            #expect(
                try await connection.query("SELECT reason FROM triage")[0].decode(String.self, at: 0) == "version_gap")
            #expect(
                try await count("SELECT count(*) FROM outbox WHERE topic = 'dossier.triage'", on: connection) == 1)
            await connection.close()
        }
    }

    @Test func eachSLAWarningIsEmittedOnce() async throws {
        try await withTestDatabase { database in
            let connection = try await migratedConnection(database)
            // Received 08:11 on Wednesday 2 July 2025, one working day: due Thursday 08:11.
            _ = try await write(
                [
                    try consumed("dossier.received", version: 1, data: openingData(procedure: "1.001193"), offset: 0),
                    try consumed(
                        "dossier.submitted", dossier: "001.00.80.H26-250702-0002", version: 1,
                        data: openingData(procedure: "1.001193", channel: "online"), offset: 1),
                ], on: connection)
            let watcher = DeadlineWatcher(calendar: testReferenceData.calendar)
            let otherWorker = DeadlineWatcher(calendar: testReferenceData.calendar)

            let morning = try await watcher.scan(at: hanoi("2025-07-02T09:00:00"), on: connection)
            #expect(morning.warnings == [.dueWithinOneWorkingDay: 1])
            #expect(try await otherWorker.scan(at: hanoi("2025-07-02T09:30:00"), on: connection).warnings.isEmpty)

            // Thursday 10:00: overdue, and the online dossier has waited 9 h 49 min of working time.
            let next = try await otherWorker.scan(at: hanoi("2025-07-03T10:00:00"), on: connection)
            #expect(next.warnings == [.overdue: 1, .onlineNotReceived: 1])
            #expect(try await watcher.scan(at: hanoi("2025-07-04T10:00:00"), on: connection).warnings.isEmpty)

            let warnings = try await connection.query(
                """
                SELECT outbox_json(payload)->'data'->>'warning' FROM outbox
                WHERE topic = 'dossier.status' AND event_type = 'vn.gov.lienthong.dossier.sla-warning' ORDER BY batch_id, ordinal
                """
            ).map { try $0.decode(String.self, at: 0) }
            #expect(warnings.count == 3)
            #expect(Set(warnings) == ["due_within_one_working_day", "overdue", "online_not_received"])
            await connection.close()
        }
    }
}
