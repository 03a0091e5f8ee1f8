/// Lets the application act *before* an assignment or revocation takes effect.
///
/// Both closures run synchronously on the consumer's poll thread inside librdkafka's rebalance callback, so the
/// partitions are still owned while they run. A revoke handler may block, for a bounded time, to let in-flight
/// work finish and store its offsets, or decide to abandon it (not storing its offsets, so the next owner
/// redelivers it). After it returns the consumer commits the stored offsets (unless the assignment was lost)
/// and only then gives the partitions up.
///
/// - Important: do not await the same consumer's `seek` from inside a handler: the poll thread serves seeks.
public struct KafkaRebalanceHandler: Sendable {
    /// Called before partitions are assigned; returns the offsets to start from where the application keeps
    /// its own positions (e.g. in PostgreSQL). Partitions not returned start from the committed offset.
    public var willAssign: @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: Int64]
    /// Called before partitions are revoked; `isLost` is true when the group already gave them to another
    /// member (then storing or committing is pointless and skipped).
    public var willRevoke: @Sendable (_ partitions: [KafkaTopicPartition], _ isLost: Bool) -> Void

    /// Creates a handler; the defaults keep committed offsets and do nothing on revoke.
    public init(
        willAssign: @escaping @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] = { _ in [:] },
        willRevoke: @escaping @Sendable (_ partitions: [KafkaTopicPartition], _ isLost: Bool) -> Void = { _, _ in }
    ) {
        self.willAssign = willAssign
        self.willRevoke = willRevoke
    }
}
