import Foundation
import LienThongPostgres
import LienThongTestSupport
import Synchronization
import Testing

private struct AbortTransfer: Error {}

@Suite("PostgreSQL transactions, errors and COPY against the throwaway server")
struct PostgresTransactionTests {
    @Test func throwingFromATransactionRollsItBack() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run {
                try $0.runScript("CREATE TABLE holder (code text PRIMARY KEY, unit text NOT NULL)")
            }
            await #expect(throws: AbortTransfer.self) {
                try await connection.withTransaction { session in
                    try session.query("INSERT INTO holder VALUES (\("000.00.12.H56-250701-0001"), \("00004"))")
                    throw AbortTransfer()
                }
            }
            let committed = try await connection.withTransaction { session in
                try session.query("INSERT INTO holder VALUES (\("000.00.12.H56-250701-0002"), \("00008"))").affectedRows
            }
            #expect(committed == 1)
            let codes = try await connection.query("SELECT code FROM holder").map { try $0.decode(String.self, at: 0) }
            #expect(codes == ["000.00.12.H56-250701-0002"])
            await connection.close()
        }
    }

    @Test func uniqueViolationCarriesItsSQLStateAndConstraint() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run {
                try $0.runScript("CREATE TABLE inbox (event_id uuid CONSTRAINT inbox_pkey PRIMARY KEY)")
            }
            let eventID = UUID()
            try await connection.query("INSERT INTO inbox VALUES (\(eventID))")
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("INSERT INTO inbox VALUES (\(eventID))")
            }
            #expect(error.code == .server)
            #expect(error.sqlState == .uniqueViolation)
            #expect(error.constraint == "inbox_pkey")
            #expect(!error.isTransactionRetriable)
            // The generic description never repeats row values; the detail (debug only) does.
            #expect(!error.description.contains(eventID.uuidString.lowercased()))
            #expect(error.debugDescription.contains(eventID.uuidString.lowercased()))
            await connection.close()
        }
    }

    @Test func concurrentSerializableWritersGetASerializationFailure() async throws {
        try await withTestDatabase { database in
            let first = try await database.connect()
            let second = try await database.connect()
            try await first.run { session in
                try session.runScript(
                    "CREATE TABLE counter (id int4 PRIMARY KEY, value int8 NOT NULL); INSERT INTO counter VALUES (1, 0)"
                )
            }
            // The first transaction reads, the second commits an update of the same row, the first then writes.
            try await first.run { session in
                try session.runScript("BEGIN ISOLATION LEVEL SERIALIZABLE")
                try session.query("SELECT value FROM counter WHERE id = 1")
            }
            try await second.withTransaction(isolation: .serializable) { session in
                try session.query("UPDATE counter SET value = value + 1 WHERE id = 1")
            }
            let error = try await #require(throws: PostgresError.self) {
                try await first.run { session in try session.query("UPDATE counter SET value = value + 10 WHERE id = 1")
                }
            }
            #expect(error.sqlState == .serializationFailure)
            #expect(error.isTransactionRetriable)
            try await first.run { try $0.runScript("ROLLBACK") }
            await first.close()
            await second.close()
        }
    }

    @Test func retryHelperRepeatsTheWholeTransactionAfterASerializationFailure() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run { try $0.runScript("CREATE TABLE attempts (n int4)") }
            let attempts = Atomic<Int>(0)
            var policy = PostgresRetryPolicy()
            policy.initialBackoff = .milliseconds(1)
            try await connection.withTransaction(isolation: .serializable, retrying: policy) { session in
                let attempt = attempts.add(1, ordering: .relaxed).newValue
                try session.query("INSERT INTO attempts VALUES (\(Int32(attempt)))")
                if attempt < 3 {
                    try session.runScript("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
                }
            }
            #expect(attempts.load(ordering: .relaxed) == 3)
            // Only the successful attempt's row survives: the failed ones were rolled back whole.
            let rows = try await connection.query("SELECT n FROM attempts").map { try $0.decode(Int32.self, at: 0) }
            #expect(rows == [3])

            let permanent = try await #require(throws: PostgresError.self) {
                try await connection.withTransaction(retrying: policy) { session in
                    attempts.store(0, ordering: .relaxed)
                    try session.query("INSERT INTO missing_table VALUES (1)")
                }
            }
            #expect(permanent.sqlState == .undefinedTable)
            await connection.close()
        }
    }

    @Test func binaryCopyLoadsRowsIncludingNulls() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run { session in
                try session.runScript(
                    "CREATE TABLE history (id int8, dossier text, at timestamptz, payload jsonb, note text, tags text[])"
                )
            }
            var rows = PostgresCopyRows()
            let start = Date(timeIntervalSince1970: 1_751_331_600)
            for index in 0..<5000 {
                let note: String? = index.isMultiple(of: 2) ? nil : "bổ sung \(index)"
                rows.append(
                    Int64(index), "000.00.12.H56-250701-\(index)", start.addingTimeInterval(Double(index)),
                    PostgresJSONB(#"{"step": \#(index)}"#), note, ["a", "b"])
            }
            let loaded = rows
            let copied = try await connection.run { session in
                try session.copy(loaded, into: "history", columns: ["id", "dossier", "at", "payload", "note", "tags"])
            }
            #expect(copied == 5000)
            let summary = try await connection.query(
                "SELECT count(*), count(note), max(at), sum((payload->>'step')::int8)::int8 FROM history")[0]
            #expect(try summary.decode(Int.self, at: 0) == 5000)
            #expect(try summary.decode(Int.self, at: 1) == 2500)
            #expect(try summary.decode(Date.self, at: 2) == start.addingTimeInterval(4999))
            #expect(try summary.decode(Int.self, at: 3) == (0..<5000).reduce(0, +))
            await connection.close()
        }
    }

    @Test func copyOfARowViolatingAConstraintLoadsNothing() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run { try $0.runScript("CREATE TABLE unit (code text PRIMARY KEY)") }
            var rows = PostgresCopyRows()
            rows.append("00004")
            rows.append("00004")
            let duplicates = rows
            let error = try await #require(throws: PostgresError.self) {
                try await connection.run { session in try session.copy(duplicates, into: "unit", columns: ["code"]) }
            }
            #expect(error.sqlState == .uniqueViolation)
            #expect(try await connection.query("SELECT count(*) FROM unit")[0].decode(Int.self, at: 0) == 0)
            await connection.close()
        }
    }

    @Test func preparedStatementsAreReusedAcrossCalls() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            for value in 1...3 {
                let doubled = try await connection.query("SELECT \(Int64(value)) * 2", prepared: true)[0].decode(
                    Int64.self, at: 0)
                #expect(doubled == Int64(value * 2))
            }
            let prepared = try await connection.query("SELECT count(*) FROM pg_prepared_statements")[0].decode(
                Int.self, at: 0)
            #expect(prepared == 1)
            await connection.close()
        }
    }
}
