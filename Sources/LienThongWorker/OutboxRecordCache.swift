import Synchronization

/// The records of `outbox_batch` rows this process wrote, by row id, so that its relays publish them without
/// reading their records back from PostgreSQL and decoding them.
///
/// It changes where a relay gets a row's records, never which rows it publishes or when: the relay still takes the
/// shard locks and asks PostgreSQL which rows are unpublished, in id order; a row it finds here is published from
/// memory, any other (written by another process, or evicted) is read from the table. A row's records never change
/// after its insert, so a remembered row is always the stored one. Rows of a transaction that rolled back are
/// never found unpublished (their ids are not reused) and leave with the oldest entries once the cache is full.
public final class OutboxRecordCache: Sendable {
    private struct State {
        var records: [Int64: [OutboxRecord]] = [:]
        /// Remembered ids, oldest first (some already taken); `head` is the first not yet looked at.
        var order: [Int64] = []
        var head = 0
        var recordCount = 0
    }

    private let state = Mutex(State())
    /// The most records held; past it, the oldest rows are forgotten (the relay reads them from the table).
    public let capacity: Int

    /// Creates an empty cache holding at most `capacity` records. Default: 16,384 (about 6,000 events' worth).
    public init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    /// Remembers the records of the `outbox_batch` row `id`, in publication order (their messages are built by
    /// the relay that takes them, not in the writer's transaction).
    func remember(id: Int64, records: [OutboxRecord]) {
        guard records.count <= capacity else { return }
        state.withLock { state in
            state.records[id] = records
            state.order.append(id)
            state.recordCount += records.count
            // The oldest go while too many records are held, or too many ids are listed (a row never taken, as
            // one whose transaction rolled back, is forgotten after `capacity` more rows); ids already taken at
            // the front are passed over.
            while state.head < state.order.count {
                let oldest = state.order[state.head]
                let isFull = state.recordCount > capacity || state.order.count - state.head > capacity
                guard isFull || state.records[oldest] == nil else { break }
                state.head += 1
                if let forgotten = state.records.removeValue(forKey: oldest) {
                    state.recordCount -= forgotten.count
                }
            }
            if state.head > 1024 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// Removes and returns the remembered records of those of `ids` that are here.
    func take(_ ids: [Int64]) -> [Int64: [OutboxRecord]] {
        state.withLock { state in
            var found: [Int64: [OutboxRecord]] = [:]
            for id in ids {
                if let records = state.records.removeValue(forKey: id) {
                    state.recordCount -= records.count
                    found[id] = records
                }
            }
            return found
        }
    }

    /// The records held.
    public var recordCount: Int {
        state.withLock { $0.recordCount }
    }

    /// The row ids listed, taken or not (bounded by ``capacity``, for tests).
    var listedRowCount: Int {
        state.withLock { $0.order.count - $0.head }
    }
}
