import Synchronization

/// The records of `outbox_batch` rows this process wrote, by row id, so that its relays publish them without
/// reading their records back from PostgreSQL and decoding them.
///
/// It changes where a relay gets a row's records, never which rows it publishes or when: the relay still takes the
/// shard locks and asks PostgreSQL which rows are unpublished, in id order; a row it finds here is published from
/// memory, any other (written by another process, or not remembered) is read from the table. A row's records never
/// change after its insert, so a remembered row is always the stored one.
///
/// When full, it keeps the rows it holds and does not remember new ones: a relay publishes the oldest rows first,
/// so under a backlog the rows held are the ones it takes next, and the newer ones are read from the table once it
/// gets to them (forgetting the oldest instead would have it miss on every row until it caught up). A row that
/// will never be taken (published by another process's relay, or its transaction rolled back) is forgotten when a
/// relay takes a later row of its shard, or when a relay's round finds the shard's first pending row above it: the
/// pending rows of a shard come in id order, so a remembered row of that shard below the first one is no longer
/// pending.
public final class OutboxRecordCache: Sendable {
    private struct State {
        var records: [Int64: OutboxRowRecords] = [:]
        /// The ids held, by shard, in the order remembered.
        var idsByShard: [Int32: [Int64]] = [:]
        var recordCount = 0

        /// Drops the ids of `shard` that `isGone` picks, with their records.
        mutating func forget(shard: Int32, where isGone: (Int64) -> Bool) {
            idsByShard[shard]?.removeAll { id in
                guard isGone(id) else { return false }
                if let forgotten = records.removeValue(forKey: id) { recordCount -= forgotten.count }
                return true
            }
        }
    }

    private let state = Mutex(State())
    /// The most records held; past it, new rows are not remembered (the relay reads them from the table).
    public let capacity: Int

    /// Creates an empty cache holding at most `capacity` records. Default: 16,384 (about 6,000 events' worth).
    public init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    /// Remembers the rows one transaction wrote (each row's records in publication order; their messages are built
    /// by the relay that takes them, not in the writer's transaction): all of them or, if they do not all fit, none.
    ///
    /// The records are kept as given, not copied: each row refers to its transaction's one array of records,
    /// which lives until the last of its rows is taken or forgotten. All or none, so that the records held
    /// (counted against ``capacity``) are those kept alive: a transaction remembered in part would keep its other
    /// rows' records in memory uncounted.
    func remember(_ rows: [(id: Int64, shard: Int32, records: OutboxRowRecords)]) {
        let count = rows.reduce(0) { $0 + $1.records.count }
        state.withLock { state in
            guard state.recordCount + count <= capacity else { return }
            for row in rows {
                state.records[row.id] = row.records
                state.idsByShard[row.shard, default: []].append(row.id)
            }
            state.recordCount += count
        }
    }

    /// Removes and returns the remembered records of those of `rows` that are here, and forgets the rows of each
    /// of their shards below the shard's first row in `rows` (no longer pending).
    /// - Parameter rows: a relay round's pending rows, in id order, with their shards.
    func take(_ rows: [(id: Int64, shard: Int32)]) -> [Int64: OutboxRowRecords] {
        var firstPending: [Int32: Int64] = [:]
        for row in rows where firstPending[row.shard] == nil { firstPending[row.shard] = row.id }
        return state.withLock { state in
            var found: [Int64: OutboxRowRecords] = [:]
            for row in rows {
                if let records = state.records.removeValue(forKey: row.id) {
                    state.recordCount -= records.count
                    found[row.id] = records
                }
            }
            for (shard, first) in firstPending {
                state.forget(shard: shard) { id in id < first || found[id] != nil }
            }
            return found
        }
    }

    /// Forgets, for each shard listed, the rows below its first pending row (every row of a shard with none
    /// pending): rows that other processes' relays published, which this process's relay would otherwise forget only
    /// when it next takes their shard. (In a fleet every shard holds every worker's rows; those rows filled the cache,
    /// which then remembered nothing new.)
    /// - Parameter firstPending: each shard's lowest unpublished row id, nil when it has none.
    func forget(below firstPending: [Int32: Int64?]) {
        state.withLock { state in
            for (shard, first) in firstPending {
                state.forget(shard: shard) { id in first.map { id < $0 } ?? true }
            }
        }
    }

    /// The records held.
    public var recordCount: Int {
        state.withLock { $0.recordCount }
    }

    /// The row ids listed (for tests).
    var listedRowCount: Int {
        state.withLock { $0.idsByShard.values.reduce(0) { $0 + $1.count } }
    }
}
