import LienThongKafka
import Testing

@testable import LienThongWorker

@Suite("Outbox record cache")
struct OutboxRecordCacheTests {
    private func records(_ count: Int, row: Int64) -> [OutboxRecord] {
        (0..<count).map {
            OutboxRecord(
                topic: "dossier.status", key: "r\(row)-\($0)", eventID: "e\(row)-\($0)", type: "t", payload: [],
                dossier: "d")
        }
    }

    @Test func aRowIsTakenOnce() {
        let cache = OutboxRecordCache(capacity: 100)
        cache.remember(id: 1, records: records(3, row: 1))
        cache.remember(id: 2, records: records(2, row: 2))
        let taken = cache.take([2, 7])
        #expect(taken.keys.sorted() == [2])
        #expect(taken[2]?.map(\.publishedMessage.key) == [Array("r2-0".utf8), Array("r2-1".utf8)])
        #expect(cache.take([2]).isEmpty)
        #expect(cache.recordCount == 3)
    }

    @Test func theOldestRowsGoWhenTooManyRecordsAreHeld() {
        let cache = OutboxRecordCache(capacity: 10)
        for id in Int64(1)...4 { cache.remember(id: id, records: records(3, row: id)) }
        #expect(cache.recordCount == 9)
        #expect(cache.take([1]).isEmpty, "row 1 was forgotten to make room for row 4")
        #expect(cache.take([2, 3, 4]).count == 3)
        cache.remember(id: 5, records: records(11, row: 5))
        #expect(cache.recordCount == 0, "a row larger than the cache is not kept")
    }

    @Test func rowsNeverTakenAreForgottenAndTheListStaysBounded() {
        let cache = OutboxRecordCache(capacity: 50)
        cache.remember(id: 1, records: records(1, row: 1))  // as if its transaction rolled back: never taken
        for id in Int64(2)...5000 {
            cache.remember(id: id, records: records(1, row: id))
            _ = cache.take([id])
        }
        #expect(cache.take([1]).isEmpty)
        #expect(cache.recordCount == 0)
        #expect(cache.listedRowCount <= 51)
    }
}
