import Foundation
import LienThongPostgres
import LienThongTestSupport
import Testing

@Suite("PostgreSQL binary types against the throwaway server")
struct PostgresTypeRoundTripTests {
    @Test func everySupportedScalarRoundTrips() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let id = UUID()
            let instant = Date(timeIntervalSince1970: 1_751_331_600.123456)  // 2025-07-01T01:00:00.123456Z
            let json = PostgresJSONB(#"{"maHoSo": "000.00.12.H56-250701-0001", "tên": "Phường Ba Đình"}"#)
            let binary = PostgresBytes([0x00, 0xFF, 0x10, 0x00])
            let missing: Int? = nil
            let row = try await connection.query(
                """
                SELECT \("Phường Ba Đình")::text, \(Int32.min)::int4, \(Int64.max)::int8, \(true)::bool,
                       \(instant)::timestamptz, \(id)::uuid, \(json)::jsonb, \(binary)::bytea, \("")::text,
                       \(missing)::int8, \(42)::int8
                """)[0]
            #expect(try row.decode(String.self, at: 0) == "Phường Ba Đình")
            #expect(try row.decode(Int32.self, at: 1) == .min)
            #expect(try row.decode(Int64.self, at: 2) == .max)
            #expect(try row.decode(Bool.self, at: 3))
            #expect(try row.decode(Date.self, at: 4) == instant)
            #expect(try row.decode(UUID.self, at: 5) == id)
            let decodedJSON = try row.decode(PostgresJSONB.self, at: 6)
            #expect(decodedJSON.text.contains("Phường Ba Đình"))
            #expect(try row.decode(PostgresBytes.self, at: 7) == binary)
            #expect(try row.decode(String.self, at: 8) == "")
            #expect(try row.decode(Int?.self, at: 9) == nil)
            #expect(try row.decode(Int.self, at: 10) == 42)
            await connection.close()
        }
    }

    @Test func aCellThatDoesNotDecodeNamesItsColumn() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let row = try await connection.query(
                "SELECT 7::int4 AS answer, NULL::text AS missing, ARRAY[1, 2]::int8[] AS numbers")[0]
            let failures: [(PostgresError?, String)] = [
                (
                    catching { () throws(PostgresError) in _ = try row.decode(Bool.self, at: 0) },
                    "column answer: cannot decode int4 (oid 23) as Bool"
                ),
                (
                    catching { () throws(PostgresError) in _ = try row.decode(String.self, named: "missing") },
                    "column missing: unexpected NULL for String"
                ),
                (
                    catching { () throws(PostgresError) in _ = try row.decode([String].self, at: 2) },
                    "column numbers: cannot decode int8[] (oid 1016) as Array<String>"
                ),
            ]
            for (error, message) in failures {
                #expect(error?.code == .decoding)
                #expect(error?.message == message)
            }
            await connection.close()
        }
    }

    /// The error `body` throws, or nil.
    private func catching(_ body: () throws(PostgresError) -> Void) -> PostgresError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    @Test func everySupportedArrayRoundTripsThroughATable() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run { session in
                try session.runScript(
                    """
                    CREATE TABLE arrays (
                        texts text[], int4s int4[], int8s int8[], bools bool[], instants timestamptz[],
                        ids uuid[], documents jsonb[], blobs bytea[]
                    )
                    """)
            }
            let texts = ["Xã Sóc Sơn", "", "quote \" and , comma", "{brace}"]
            let int4s: [Int32] = [1, -2, .max]
            let int8s: [Int64] = [.min, 0, 7]
            let bools = [true, false]
            let instants = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_767_225_600.5)]
            let ids = [UUID(), UUID()]
            let documents = [PostgresJSONB(#"{"a": [1, 2]}"#), PostgresJSONB("null")]
            let blobs = [PostgresBytes([]), PostgresBytes([0, 1, 2])]
            try await connection.query(
                """
                INSERT INTO arrays VALUES (\(texts), \(int4s), \(int8s), \(bools), \(instants), \(ids), \(documents), \(blobs))
                """)
            let row = try await connection.query("SELECT * FROM arrays")[0]
            #expect(try row.decode([String].self, named: "texts") == texts)
            #expect(try row.decode([Int32].self, named: "int4s") == int4s)
            #expect(try row.decode([Int64].self, named: "int8s") == int8s)
            #expect(try row.decode([Bool].self, named: "bools") == bools)
            #expect(try row.decode([Date].self, named: "instants") == instants)
            #expect(try row.decode([UUID].self, named: "ids") == ids)
            #expect(
                try row.decode([PostgresJSONB].self, named: "documents").map(\.text) == [#"{"a": [1, 2]}"#, "null"])
            #expect(try row.decode([PostgresBytes].self, named: "blobs") == blobs)

            let empty = try await connection.query("SELECT \([String]())::text[], \([Int64]())::int8[]")[0]
            #expect(try empty.decode([String].self, at: 0).isEmpty)
            #expect(try empty.decode([Int64].self, at: 1).isEmpty)
            await connection.close()
        }
    }

    @Test func unnestOfBinaryArraysUpsertsManyRowsInOneStatement() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            try await connection.run {
                try $0.runScript("CREATE TABLE dossier (code text PRIMARY KEY, version int8 NOT NULL)")
            }
            let codes = (1...1000).map { "000.00.12.H56-250701-\(String(format: "%04d", $0))" }
            let versions = [Int64](repeating: 1, count: codes.count)
            let upsert: PostgresQuery = """
                INSERT INTO dossier (code, version) SELECT * FROM unnest(\(codes)::text[], \(versions)::int8[])
                ON CONFLICT (code) DO UPDATE SET version = EXCLUDED.version
                """
            #expect(try await connection.query(upsert).affectedRows == 1000)
            let count = try await connection.query("SELECT count(*) FROM dossier")[0].decode(Int.self, at: 0)
            #expect(count == 1000)
            await connection.close()
        }
    }

    @Test func decodingNullIntoANonOptionalNamesTheColumn() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let row = try await connection.query("SELECT NULL::text AS holder")[0]
            let error = try #require(throws: PostgresError.self) { try row.decode(String.self, named: "holder") }
            #expect(error.code == .decoding)
            #expect(error.message.contains("holder"))
            #expect(throws: PostgresError.self) { try row.decode(Int.self, at: 0) }
            await connection.close()
        }
    }

    @Test func textWithNULIsRejectedByTheServerWithItsSQLState() async throws {
        try await withTestDatabase { database in
            let connection = try await database.connect()
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT \("a\u{0}b")::text")
            }
            #expect(error.code == .server)
            #expect(error.sqlState == .characterNotInRepertoire)
            // The connection stays usable after a statement error.
            #expect(try await connection.query("SELECT 1::int4")[0].decode(Int32.self, at: 0) == 1)
            await connection.close()
        }
    }
}
