import Foundation
import Testing

@testable import LienThongPostgres

@Suite("Postgres query building and binary codecs (no server)")
struct PostgresQueryTests {
    @Test func interpolatedValuesBecomeParametersNeverSQL() {
        let hostile = "x'); DROP TABLE dossier; --"
        let query: PostgresQuery = "SELECT * FROM dossier WHERE code = \(hostile) AND version > \(Int64(3))"
        #expect(query.sql == "SELECT * FROM dossier WHERE code = $1 AND version > $2")
        #expect(query.bindings.count == 2)
        #expect(query.bindings.dataTypes == [PostgresDataType.text.oid, PostgresDataType.int8.oid])
        #expect(query.bindings.values[0] == Array(hostile.utf8))
    }

    @Test func nilBindsSQLNull() {
        let missing: String? = nil
        let query: PostgresQuery = "SELECT \(missing)"
        #expect(query.bindings.lengths == [-1])
        #expect(query.bindings.dataTypes == [PostgresDataType.text.oid])
    }

    @Test(arguments: [
        ("dossier", #""dossier""#), (#"we"ird"#, #""we""ird""#), ("public.dossier", #""public"."dossier""#),
    ])
    func identifiersAreQuoted(name: String, quoted: String) {
        #expect(PostgresQuery.quoteIdentifier(name) == quoted)
        let query: PostgresQuery = "SELECT * FROM \(identifier: name)"
        #expect(query.sql == "SELECT * FROM \(quoted)")
        #expect(query.bindings.count == 0)
    }

    private func roundTrip<T: PostgresArrayElement & Equatable>(_ value: T) throws -> T {
        let bytes = [UInt8](encoding: value)
        return try T(postgresCell: PostgresCell(dataType: T.postgresDataType, bytes: bytes[...]))
    }

    @Test func scalarsRoundTripThroughTheirBinaryForm() throws {
        #expect(try roundTrip("Xã Bát Tràng") == "Xã Bát Tràng")
        #expect(try roundTrip(Int64.min) == .min)
        #expect(try roundTrip(Int32(-7)) == -7)
        #expect(try roundTrip(true))
        let id = UUID()
        #expect(try roundTrip(id) == id)
        let instant = Date(timeIntervalSince1970: 1_782_864_000.000001)
        #expect(try roundTrip(instant) == instant)
        #expect(try roundTrip(PostgresBytes([0, 255])) == PostgresBytes([0, 255]))
        #expect(try roundTrip(PostgresJSONB("[1]")) == PostgresJSONB("[1]"))
    }

    @Test func arraysUseTheOneDimensionalBinaryLayout() throws {
        let bytes = [UInt8](encoding: [Int32(5), 6])
        // ndim 1, no nulls, element oid 23, length 2, lower bound 1, then (length 4, value) twice.
        #expect(
            bytes == [
                0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0,
                0, 6,
            ])
        let decoded = try [Int32](postgresCell: PostgresCell(dataType: .int4Array, bytes: bytes[...]))
        #expect(decoded == [5, 6])
    }

    /// Bindings size the memory before a value writes itself: the size must be exact for every standard type.
    @Test func encodedSizesAreExact() {
        func check(_ value: some PostgresEncodable, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(value.postgresEncodedSize == value.bytesWritten(givenRoom: 256), sourceLocation: sourceLocation)
        }
        check("Nguyễn Văn An")
        check(["", "dossier.status", "000.00.12.H56-250701-0001"])
        check([Int64(1), 2] as [Int64])
        check([Int32(1)] as [Int32])
        check([1, 2, 3] as [Int])
        check([true, false])
        check([1.5] as [Double])
        check([Date(timeIntervalSince1970: 0)])
        check([UUID()])
        check([PostgresBytes([1, 2, 3]), PostgresBytes([])])
        check([PostgresJSONB(#"{"a":1}"#)])
        check(["a", nil, "bc"] as [String?])
        check([] as [String])
        check(String?.none)

        var bindings = PostgresBindings()
        bindings.append(["a", "b"])
        bindings.append(Int64(7))
        #expect(bindings.lengths == [30, 8] && bindings.values.map(\.count) == [30, 8])
    }

    @Test func aValueWritingMoreThanItDeclaredStopsTheProcessRatherThanOverrunTheBuffer() async {
        await #expect(processExitsWith: .failure) {
            var bindings = PostgresBindings()
            bindings.append(UnderstatedSize())
        }
    }

    @Test func malformedOrMismatchedCellsAreDecodingErrors() {
        #expect(throws: PostgresError.self) {
            try Int64(postgresCell: PostgresCell(dataType: .int8, bytes: [1, 2, 3]))
        }
        #expect(throws: PostgresError.self) {
            try Bool(postgresCell: PostgresCell(dataType: .int4, bytes: [0, 0, 0, 1]))
        }
        #expect(throws: PostgresError.self) {
            try [String](
                postgresCell: PostgresCell(
                    dataType: .textArray, bytes: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 5]))
        }
    }

    @Test func copyRowsStartWithTheBinaryHeaderAndEndWithTheTrailer() {
        var rows = PostgresCopyRows()
        rows.append(Int32(1), String?.none)
        let encoded = rows.encoded()
        #expect(Array(encoded.prefix(11)) == Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00])
        // header (19) + field count (2) + int4 field (4 + 4) + NULL field (4) + trailer (2)
        #expect(encoded.count == 19 + 2 + 8 + 4 + 2)
        #expect(Array(encoded.suffix(2)) == [0xFF, 0xFF])
        #expect(rows.count == 1)
    }

    @Test func aColumnOfRowsEncodesAsTheArrayOfItsValues() {
        let rows = Parcels(codes: ["H26.1", "", "Phường Hoàn Kiếm"], weights: [7, nil, -1])
        #expect(
            [UInt8](encoding: rows.column(.code, of: String.self))
                == [UInt8](encoding: ["H26.1", "", "Phường Hoàn Kiếm"]))
        let weights = PostgresColumnArray(rows, .weight, of: Int64.self)
        #expect([UInt8](encoding: weights) == [UInt8](encoding: [Int64(7), nil, -1] as [Int64?]))
        #expect(weights.postgresEncodedSize == weights.bytesWritten(givenRoom: 256))
        let none = Parcels(codes: [], weights: [])
        #expect([UInt8](encoding: PostgresColumnArray(none, .code, of: String.self)) == [UInt8](encoding: [String]()))
    }

    @Test func retryPolicyRetriesOnlyTransientErrors() {
        var policy = PostgresRetryPolicy()
        #expect(policy.shouldRetry(PostgresError(code: .server, message: "", sqlState: .serializationFailure)))
        #expect(policy.shouldRetry(PostgresError(code: .server, message: "", sqlState: .deadlockDetected)))
        #expect(!policy.shouldRetry(PostgresError(code: .server, message: "", sqlState: .uniqueViolation)))
        #expect(!policy.shouldRetry(PostgresError(code: .connectionLost, message: "")))
        policy.retriesConnectionLoss = true
        #expect(policy.shouldRetry(PostgresError(code: .connectionLost, message: "")))
        for attempt in 1...30 { #expect(policy.backoff(afterAttempt: attempt) <= policy.maxBackoff) }
    }

    @Test func migrationChecksumsDetectAnyEdit() {
        let original = PostgresMigration(version: 1, name: "a", sql: "CREATE TABLE a (x int4);")
        let edited = PostgresMigration(version: 1, name: "a", sql: "CREATE TABLE a (x int8);")
        #expect(original.checksum != edited.checksum)
        #expect(original.checksum.count == 16)
        #expect(throws: PostgresError.self) { try PostgresMigrator(migrations: [original, edited]) }
    }
}

/// Declares two bytes and writes four.
private struct UnderstatedSize: PostgresEncodable {
    static var postgresDataType: PostgresDataType { .int4 }
    var postgresEncodedSize: Int { 2 }
    func encode(into writer: inout PostgresBinaryWriter) { writer.writeBigEndian(Int32(7)) }
}

/// Rows kept as two arrays, sent column by column.
private struct Parcels: PostgresColumnarRows {
    enum Column { case code, weight }

    let codes: [String]
    let weights: [Int64?]

    var rowCount: Int { codes.count }

    func encodedSize(of column: Column, row: Int) -> Int? {
        switch column {
        case .code: codes[row].postgresEncodedSize
        case .weight: weights[row]?.postgresEncodedSize
        }
    }

    func encode(_ column: Column, row: Int, into writer: inout PostgresBinaryWriter) {
        switch column {
        case .code: codes[row].encode(into: &writer)
        case .weight: weights[row]?.encode(into: &writer)
        }
    }
}
