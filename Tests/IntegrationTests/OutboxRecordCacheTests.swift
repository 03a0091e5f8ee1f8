import LienThongKafka
import Testing

@testable import LienThongWorker

@Suite("Outbox record cache")
struct OutboxRecordCacheTests {
    /// A row of `count` records: the whole of its transaction's records.
    private func records(_ count: Int, row: Int64) -> OutboxRowRecords {
        let records = (0..<count).map {
            OutboxRecord(
                topic: "dossier.status", key: "r\(row)-\($0)", eventID: "e\(row)-\($0)", type: "t", payload: [],
                dossier: "d")
        }
        return OutboxRowRecords(records, positions: Array(records.indices)[...])
    }

    @Test func aRowIsTakenOnce() throws {
        let cache = OutboxRecordCache(capacity: 100)
        cache.remember([(1, 0, records(3, row: 1))])
        cache.remember([(2, 1, records(2, row: 2))])
        let taken = cache.take([(2, 1), (7, 1)])
        #expect(taken.keys.sorted() == [2])
        let row = try #require(taken[2])
        #expect(row.count == 2, "row 2's records (row 1 has 3)")
        #expect(cache.take([(2, 1)]).isEmpty)
        #expect(cache.recordCount == 3)
    }

    @Test func aFullCacheKeepsTheOldestRowsForTheRelayAndSkipsNewOnes() {
        let cache = OutboxRecordCache(capacity: 10)
        for id in Int64(1)...4 { cache.remember([(id, 0, records(3, row: id))]) }
        #expect(cache.recordCount == 9)
        #expect(cache.take([(1, 0), (2, 0), (3, 0)]).count == 3, "the oldest rows, which the relay takes first")
        #expect(cache.take([(4, 0)]).isEmpty, "row 4 came when the cache was full")
        cache.remember([(5, 0, records(3, row: 5))])
        #expect(cache.take([(5, 0)]).count == 1, "room again once the relay took rows")
        cache.remember([(6, 0, records(11, row: 6))])
        #expect(cache.recordCount == 0, "a row larger than the cache is not kept")
    }

    @Test func aTransactionsRowsAreRememberedAllOrNone() {
        let cache = OutboxRecordCache(capacity: 10)
        cache.remember([(1, 0, records(6, row: 1)), (2, 1, records(6, row: 2))])
        #expect(cache.recordCount == 0, "the second row does not fit: neither is kept")
        #expect(cache.take([(1, 0)]).isEmpty)
        cache.remember([(3, 0, records(4, row: 3)), (4, 1, records(5, row: 4))])
        #expect(cache.recordCount == 9)
        #expect(cache.take([(3, 0), (4, 1)]).keys.sorted() == [3, 4])
    }

    @Test func rowsBelowTheFirstPendingRowOfTheirShardAreForgotten() {
        let cache = OutboxRecordCache(capacity: 50)
        // Shard 0 holds rows 2 and 4, shard 1 rows 1 and 3; all but row 4 will never be taken (another process
        // published them, or their transactions rolled back).
        for id in Int64(1)...4 { cache.remember([(id, Int32(id % 2), records(1, row: id))]) }
        #expect(cache.take([(4, 0)]).keys.sorted() == [4])
        #expect(cache.recordCount == 2, "row 2 of shard 0 is forgotten; shard 1 was not in the round")
        #expect(cache.listedRowCount == 2)
        #expect(cache.take([(5, 1)]).isEmpty)
        #expect(cache.recordCount == 0)
        #expect(cache.listedRowCount == 0)
    }

    @Test func rowsOtherRelaysPublishedAreForgottenShardByShard() {
        let cache = OutboxRecordCache(capacity: 50)
        // Shards 0, 1 and 2 hold rows 1–3, 4–6 and 7–9.
        for id in Int64(1)...9 { cache.remember([(id, Int32((id - 1) / 3), records(1, row: id))]) }
        cache.forget(below: [0: 2, 1: nil, 5: 1])
        #expect(cache.recordCount == 5, "row 1 of shard 0 and all of shard 1, with nothing pending, are forgotten")
        #expect(cache.listedRowCount == 5)
        #expect(cache.take([(2, 0), (3, 0)]).keys.sorted() == [2, 3])
        #expect(cache.take([(4, 1)]).isEmpty)
        #expect(cache.take([(7, 2), (8, 2), (9, 2)]).count == 3, "shard 2 was not listed")
        #expect(cache.recordCount == 0)
    }

    @Test func stalledRowsDoNotFillTheCacheForGood() {
        let cache = OutboxRecordCache(capacity: 50)
        for id in Int64(1)...5000 {
            // Every other row is published elsewhere; the relay here takes the others, in id order.
            cache.remember([(id, 3, records(1, row: id))])
            if id % 2 == 0 { #expect(cache.take([(id, 3)]).count == 1) }
        }
        #expect(cache.recordCount <= 1)
        #expect(cache.listedRowCount <= 1)
    }
}
